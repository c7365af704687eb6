package org.evallearn.models;

/** A download or cache problem, reported by message alone: the message names the artefact, URL or file and what to do. */
public class StoreException extends RuntimeException {
    public StoreException(String message) {
        super(message);
    }

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}

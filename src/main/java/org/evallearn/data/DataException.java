package org.evallearn.data;

/** A dataset file that cannot be used as it is; the message names the file and line. */
public class DataException extends RuntimeException {
    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}

package org.evallearn.tensor;

/** A weight file that is not a well-formed safetensors file; the message names file and tensor. */
public class SafeTensorsException extends RuntimeException {
    public SafeTensorsException(String message) {
        super(message);
    }

    public SafeTensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}

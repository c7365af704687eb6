package org.evallearn.tensor;

/**
 * A pickle that {@link StrictPickle} refuses or cannot read: the message names the file, the
 * opcode or global, and the byte offset in the pickle stream.
 */
public class PickleException extends RuntimeException {
    public PickleException(String message) {
        super(message);
    }

    public PickleException(String message, Throwable cause) {
        super(message, cause);
    }
}

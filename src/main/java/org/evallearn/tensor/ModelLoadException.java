package org.evallearn.tensor;

/** A model folder, config or weight file that does not fit the model; the message says where. */
public class ModelLoadException extends RuntimeException {
    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}

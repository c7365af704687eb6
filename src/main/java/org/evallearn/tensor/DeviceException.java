package org.evallearn.tensor;

/** A device or dtype the user asked for that cannot be used: an unknown name, or CUDA where there is none. */
public class DeviceException extends RuntimeException {
    public DeviceException(String message) {
        super(message);
    }
}

package org.evallearn.image;

/** An image file that cannot be decoded; the message names the file and the reason. */
public class ImageDecodeException extends RuntimeException {
    public ImageDecodeException(String message) {
        super(message);
    }

    public ImageDecodeException(String message, Throwable cause) {
        super(message, cause);
    }
}

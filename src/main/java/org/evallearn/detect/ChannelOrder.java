package org.evallearn.detect;

/** The order of the three input planes fed to the model. */
public enum ChannelOrder {
    /**
     * What nudenet 3.4.2 feeds: {@code _read_image} reads BGR with cv2, swaps to RGB with
     * {@code COLOR_RGBA2BGR} and {@code blobFromImage(swapRB=True)} swaps back, so planes are B, G, R.
     */
    BGR,
    RGB
}

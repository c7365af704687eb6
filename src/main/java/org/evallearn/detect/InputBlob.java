package org.evallearn.detect;

/**
 * Writes a size × size × 3 RGB byte image as the model's planar float input, scaled to [0, 1]:
 * {@code blobFromImage}'s {@code convertTo(CV_32F)} then {@code *= 1/255.0}, which OpenCV applies
 * as a float multiply by {@code (float) (1 / 255.0)}.
 */
public final class InputBlob {
    private static final float SCALE = (float) (1 / 255.0);

    private InputBlob() {}

    /** Writes planes [3, size, size] at {@code offset} of {@code dst}, in the given channel order. */
    public static void write(byte[] rgb, int size, ChannelOrder order, float[] dst, int offset) {
        int plane = size * size;
        if (rgb.length != plane * 3) {
            throw new IllegalArgumentException(rgb.length + " bytes are not a " + size + "x" + size + " RGB image");
        }
        int first = order == ChannelOrder.BGR ? 2 : 0; // source channel of plane 0
        for (int p = 0, i = 0; p < plane; p++, i += 3) {
            dst[offset + p] = (rgb[i + first] & 0xff) * SCALE;
            dst[offset + plane + p] = (rgb[i + 1] & 0xff) * SCALE;
            dst[offset + 2 * plane + p] = (rgb[i + 2 - first] & 0xff) * SCALE;
        }
    }
}

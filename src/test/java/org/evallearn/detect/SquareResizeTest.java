package org.evallearn.detect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.evallearn.image.RgbImage;
import org.junit.jupiter.api.Test;

/** OpenCV INTER_LINEAR on 8-bit images, values worked out by hand from resize.cpp's fixed-point formulas. */
class SquareResizeTest {
    /** A grey image: each pixel's three channels equal the given value. */
    private static RgbImage grey(int width, int height, int... values) {
        byte[] rgb = new byte[width * height * 3];
        for (int i = 0; i < values.length; i++) for (int c = 0; c < 3; c++) rgb[3 * i + c] = (byte) values[i];
        return new RgbImage(width, height, rgb);
    }

    private static int[] firstChannel(byte[] rgb) {
        int[] out = new int[rgb.length / 3];
        for (int i = 0; i < out.length; i++) out[i] = rgb[3 * i] & 0xff;
        return out;
    }

    @Test
    void halvingAveragesTwoByTwoAndPadsBelow() {
        // 4×2 padded to 4×4 then halved: (a+b+c+d+2) >> 2 per block, the bottom row is pad.
        RgbImage img = grey(4, 2, 10, 20, 30, 40, 50, 60, 70, 81);
        assertArrayEquals(new int[] {35, 55, 0, 0}, firstChannel(SquareResize.apply(img, 2)));
    }

    @Test
    void upscalingClampsToTheEdgeAndBlendsInBetween() {
        // 2×2 → 3×3: source coordinates −1/6 (clamped to 0), 1/2, 7/6 (clamped to 1).
        RgbImage img = grey(2, 2, 0, 100, 200, 255);
        assertArrayEquals(new int[] {0, 50, 100, 100, 139, 178, 200, 228, 255},
                firstChannel(SquareResize.apply(img, 3)));
    }

    @Test
    void aSquareOfTheTargetSizeIsCopiedAndChannelsStayApart() {
        byte[] rgb = new byte[2 * 1 * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i + 1);
        byte[] out = SquareResize.apply(new RgbImage(2, 1, rgb), 2);
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0}, out);
    }

    @Test
    void blobIsPlanarScaledAndBgrByDefault() {
        byte[] rgb = {10, 20, (byte) 255};
        float[] bgr = new float[3];
        InputBlob.write(rgb, 1, ChannelOrder.BGR, bgr, 0);
        float s = (float) (1 / 255.0);
        assertArrayEquals(new float[] {255 * s, 20 * s, 10 * s}, bgr);
        float[] plain = new float[4];
        InputBlob.write(rgb, 1, ChannelOrder.RGB, plain, 1);
        assertArrayEquals(new float[] {0, 10 * s, 20 * s, 255 * s}, plain);
        assertEquals(1f, 255 * s, 1e-7f);
    }
}

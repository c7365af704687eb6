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
    void upscalingClampsColumnsToTheEdgeAndBlendsInBetween() {
        // 2×2 → 3×3: source coordinates −1/6, 1/2, 7/6. Columns −1/6 and 7/6 clamp to one pixel at
        // weight 2048; rows keep fy: row 0 is rows (0, 0) at β = (341, 1707), row 2 rows (1, 1) at (1707, 341).
        // Bottom middle: 200·1024 + 255·1024 = 465920, >> 4 = 29120; (29120·1707 >> 16) + (29120·341 >> 16)
        // = 758 + 151; (909 + 2) >> 2 = 227 (a plain clamp at β = (2048, 0) would give 910 → 228).
        RgbImage img = grey(2, 2, 0, 100, 200, 255);
        assertArrayEquals(new int[] {0, 50, 100, 100, 139, 178, 200, 227, 255},
                firstChannel(SquareResize.apply(img, 3)));
    }

    @Test
    void upscaledEdgeRowsKeepOpenCvsFractionalWeights() {
        // Columns 0 and 1 of value 0 and 1, 2×2 → 3×3. Horizontal: 0, 0·1024 + 1·1024 = 1024, 1·2048 = 2048.
        // Top row (rows 0, 0 at β 341, 1707): 1024 >> 4 = 64 → (64·341 >> 16) + (64·1707 >> 16) = 0 + 1,
        // (1 + 2) >> 2 = 0; 2048 >> 4 = 128 → 0 + 3, (3 + 2) >> 2 = 1. Middle row (rows 0, 1 at 1024, 1024):
        // 64·1024 >> 16 = 1 twice, (2 + 2) >> 2 = 1. The bottom row mirrors the top.
        // Clamping the rows' weights (β = 2048, 0) would give 1 at the top and bottom middle instead.
        RgbImage img = grey(2, 2, 0, 1, 0, 1);
        assertArrayEquals(new int[] {0, 0, 1, 0, 1, 1, 0, 0, 1}, firstChannel(SquareResize.apply(img, 3)));
    }

    @Test
    void downscalingByANonIntegerFactorBlendsRowsAndColumnsAlike() {
        // 3×3 → 2×2: scale 1.5, source coordinates 0.25 and 1.75, inside the image on both axes, so
        // rows and columns use the same taps: (0, 1) at (1536, 512) and (1, 2) at (512, 1536).
        // Pixel (0, 0) of a ramp 0, 40, 80 per row and +8 per row down: horizontal 0·1536 + 40·512 = 20480
        // on row 0 and 8·1536 + 48·512 = 36864 on row 1; vertical (1280·1536 >> 16) + (2304·512 >> 16)
        // = 30 + 18 = 48, (48 + 2) >> 2 = 12; pixel (0, 1): 143360 and 159744 → 210 + 78, (288 + 2) >> 2 = 72.
        RgbImage img = grey(3, 3, 0, 40, 80, 8, 48, 88, 16, 56, 96);
        assertArrayEquals(new int[] {12, 72, 24, 84}, firstChannel(SquareResize.apply(img, 2)));
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

    @Test
    void theParallelBatchInputEqualsImageByImageAndPadsRowsBlack() {
        java.util.Random random = new java.util.Random(2);
        java.util.List<RgbImage> images = new java.util.ArrayList<>();
        for (int k = 0; k < 9; k++) {
            int w = 5 + random.nextInt(40), h = 5 + random.nextInt(40);
            byte[] rgb = new byte[w * h * 3];
            random.nextBytes(rgb);
            images.add(new RgbImage(w, h, rgb));
        }
        int size = 32, perImage = 3 * size * size;
        float[] batch = NudeNetInput.of(images, size, ChannelOrder.BGR, 10);
        assertEquals(10 * perImage, batch.length);
        float[] one = new float[perImage];
        for (int k = 0; k < images.size(); k++) {
            InputBlob.write(SquareResize.apply(images.get(k), size), size, ChannelOrder.BGR, one, 0);
            assertArrayEquals(one, java.util.Arrays.copyOfRange(batch, k * perImage, (k + 1) * perImage), "image " + k);
        }
        assertArrayEquals(new float[perImage], java.util.Arrays.copyOfRange(batch, 9 * perImage, 10 * perImage), "padding row");
    }
}

package org.evallearn.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BlurTest {
    @Test
    void kernelIsNormalisedSymmetricAndPeaksInTheMiddle() {
        float[] k = Blur.kernel(2.0);
        assertEquals(13, k.length);
        double sum = 0;
        for (float v : k) sum += v;
        assertEquals(1.0, sum, 1e-6);
        for (int i = 0; i < k.length / 2; i++) {
            assertEquals(k[i], k[k.length - 1 - i], 0f);
            assertTrue(k[i] < k[i + 1]);
        }
    }

    @Test
    void flatImageStaysFlat() {
        byte[] rgb = new byte[16 * 8 * 3];
        for (int i = 0; i < rgb.length; i += 3) { rgb[i] = 10; rgb[i + 1] = (byte) 200; rgb[i + 2] = (byte) 255; }
        RgbImage blurred = Blur.gaussian(new RgbImage(16, 8, rgb), 3);
        assertArrayEquals(rgb, blurred.rgb());
    }

    @Test
    void aBrightPixelSpreadsIntoItsNeighboursAndFades() {
        int n = 21;
        byte[] rgb = new byte[n * n * 3];
        int centre = (10 * n + 10) * 3;
        Arrays.fill(rgb, centre, centre + 3, (byte) 255);
        RgbImage blurred = Blur.gaussian(new RgbImage(n, n, rgb), 1.0);
        int middle = blurred.rgb()[centre] & 0xff;
        int right = blurred.rgb()[centre + 3] & 0xff;
        int corner = blurred.rgb()[0] & 0xff;
        // 255 · g(0)² with g(0) = 1/Σexp(-i²/2) over |i| ≤ 3 = 0.3990: 40.6 → 41.
        assertEquals(41, middle);
        assertTrue(right > 0 && right < middle, "neighbour " + right);
        assertEquals(0, corner);
    }

    @Test
    void nonPositiveSigmaIsRefused() {
        RgbImage img = new RgbImage(2, 2, new byte[12]);
        assertThrows(IllegalArgumentException.class, () -> Blur.gaussian(img, 0));
    }
}

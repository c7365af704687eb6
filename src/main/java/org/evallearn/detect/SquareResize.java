package org.evallearn.detect;

import org.evallearn.image.RgbImage;

/**
 * Pads an image with black on the right and bottom to a square of side max(width, height) and
 * resizes that square to size × size, as nudenet 3.4.2's {@code _read_image} does with
 * {@code cv2.copyMakeBorder} and {@code cv2.dnn.blobFromImage} (which resizes with
 * {@code cv2.resize(..., INTER_LINEAR)} on the 8-bit image).
 *
 * <p>The interpolation is OpenCV's fixed-point bilinear for 8-bit images
 * (imgproc/src/resize.cpp, {@code resizeGeneric_} with {@code HResizeLinear} and
 * {@code VResizeLinear}): source coordinate {@code (d + 0.5) · side/size − 0.5} computed in float,
 * weights {@code cvRound(w · 2048)}. The two axes treat the edges differently, as {@code cv::resize}
 * does: a column outside the image is clamped with its weight (one tap at full weight), while a row
 * keeps its fractional weights and only its two row indices are clamped, so when upscaling the
 * first and last output rows blend the edge row with itself under weights that sum to 2048 but
 * truncate differently in the vertical pass (±1 against a plain clamp). The horizontal pass sums to
 * int, the vertical pass combines two rows as the SSE/AVX kernel {@code VResizeLinearVec_32s8u}
 * does, {@code ((r0 >> 4)·b0 >> 16) + ((r1 >> 4)·b1 >> 16) + 2 >> 2}, saturated to 0..255.
 * OpenCV's scalar tail (the last ≤ 16 values of a row when the vector loop stops short) rounds
 * the sum once instead; the two differ by at most one grey level. An image that already is
 * size × size is copied unchanged, as {@code blobFromImage} skips the resize.
 */
public final class SquareResize {
    private static final int COEF_BITS = 11;
    private static final int COEF_SCALE = 1 << COEF_BITS;

    private SquareResize() {}

    /** The padded, resized image: size × size × 3 bytes, row-major, channels as in {@code image}. */
    public static byte[] apply(RgbImage image, int size) {
        if (size <= 0) throw new IllegalArgumentException("target size must be positive, got " + size);
        int w = image.width(), h = image.height(), side = Math.max(w, h);
        byte[] src = image.rgb();
        byte[] dst = new byte[size * size * 3];
        if (side == size) {
            for (int y = 0; y < h; y++) System.arraycopy(src, y * w * 3, dst, y * size * 3, w * 3);
            return dst;
        }
        Taps xs = Taps.columns(side, size);
        Taps ys = Taps.rows(side, size);
        // Horizontal pass per needed source row, cached: consecutive output rows share source rows.
        int[] row0 = new int[size * 3], row1 = new int[size * 3];
        int cached0 = -1, cached1 = -1;
        for (int dy = 0; dy < size; dy++) {
            int r0 = ys.index0[dy], r1 = ys.index1[dy];
            if (r0 != cached0) {
                if (r0 == cached1) {
                    int[] t = row0; row0 = row1; row1 = t;
                    cached0 = r0; cached1 = -1;
                } else {
                    horizontal(src, w, h, r0, xs, row0);
                    cached0 = r0;
                }
            }
            if (r1 != cached1) {
                if (r1 == cached0) {
                    System.arraycopy(row0, 0, row1, 0, row1.length);
                } else {
                    horizontal(src, w, h, r1, xs, row1);
                }
                cached1 = r1;
            }
            int b0 = ys.weight0[dy], b1 = ys.weight1[dy];
            int out = dy * size * 3;
            for (int i = 0; i < size * 3; i++) {
                int v = (((row0[i] >> 4) * b0) >> 16) + (((row1[i] >> 4) * b1) >> 16) + 2 >> 2;
                dst[out + i] = (byte) (v < 0 ? 0 : Math.min(v, 255));
            }
        }
        return dst;
    }

    /** One source row of the padded square, resized horizontally to fixed-point ints (× 2048). */
    private static void horizontal(byte[] src, int w, int h, int row, Taps xs, int[] out) {
        if (row >= h) { // the black pad
            java.util.Arrays.fill(out, 0);
            return;
        }
        int base = row * w * 3;
        int n = xs.index0.length;
        for (int dx = 0, o = 0; dx < n; dx++, o += 3) {
            // A tap in the right pad reads black: weight 0 on any pixel of the row (here its first).
            int x0 = xs.index0[dx], x1 = xs.index1[dx];
            int a0 = x0 < w ? xs.weight0[dx] : 0, a1 = x1 < w ? xs.weight1[dx] : 0;
            int p0 = base + (x0 < w ? x0 * 3 : 0), p1 = base + (x1 < w ? x1 * 3 : 0);
            out[o] = (src[p0] & 0xff) * a0 + (src[p1] & 0xff) * a1;
            out[o + 1] = (src[p0 + 1] & 0xff) * a0 + (src[p1 + 1] & 0xff) * a1;
            out[o + 2] = (src[p0 + 2] & 0xff) * a0 + (src[p1 + 2] & 0xff) * a1;
        }
    }

    /** Source indices and fixed-point weights of the two taps per output coordinate. */
    private record Taps(int[] index0, int[] index1, int[] weight0, int[] weight1) {
        /** resize.cpp's x loop: a tap left or right of the image becomes the edge pixel at weight 1 (fx = 0). */
        static Taps columns(int srcLength, int dstLength) {
            return of(srcLength, dstLength, true);
        }

        /** resize.cpp's y loop keeps fy; resizeGeneric_Invoker then clips each row index to [0, src − 1]. */
        static Taps rows(int srcLength, int dstLength) {
            return of(srcLength, dstLength, false);
        }

        private static Taps of(int srcLength, int dstLength, boolean clampWeights) {
            double scale = 1.0 / ((double) dstLength / srcLength); // resize.cpp: scale_x = 1./inv_scale_x
            int[] i0 = new int[dstLength], i1 = new int[dstLength], w0 = new int[dstLength], w1 = new int[dstLength];
            for (int d = 0; d < dstLength; d++) {
                float f = (float) ((d + 0.5) * scale - 0.5);
                int s = (int) Math.floor(f);
                f -= s;
                if (clampWeights && s < 0) {
                    f = 0;
                    s = 0;
                }
                if (clampWeights && s >= srcLength - 1) {
                    f = 0;
                    s = srcLength - 1;
                }
                i0[d] = clip(s, srcLength);
                i1[d] = clip(s + 1, srcLength);
                w0[d] = (int) Math.rint((1f - f) * COEF_SCALE); // saturate_cast<short>(float) rounds half to even
                w1[d] = (int) Math.rint(f * COEF_SCALE);
            }
            return new Taps(i0, i1, w0, w1);
        }

        private static int clip(int index, int length) {
            return Math.max(0, Math.min(index, length - 1));
        }
    }
}

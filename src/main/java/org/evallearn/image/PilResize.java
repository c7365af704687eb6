package org.evallearn.image;

/**
 * Pillow's {@code Image.resize} of an 8-bit 'RGB' image, reproducing {@code libImaging/Resample.c}
 * ({@code ImagingResample}) bit for bit: float64 filter weights turned into 22-bit fixed point, a
 * horizontal pass then a vertical pass, each rounding and clamping to 8 bits, the kernel widened
 * by the scale when shrinking (antialiasing). transformers' image processors resize through PIL,
 * so this is what CLIP's (bicubic) and ViT's (bilinear) preprocessing do.
 */
public final class PilResize {
    /** Pillow's PRECISION_BITS for 8-bit images: 32 − 8 − 2. */
    private static final int PRECISION_BITS = 22;

    /** The filters of transformers' {@code resample} values (PIL.Image.Resampling). */
    public enum Filter {
        /** Resample.c {@code bilinear_filter}: the triangle on |x| < 1; PIL resample 2. */
        BILINEAR(1.0, 2),
        /** Resample.c {@code bicubic_filter}, the a = −0.5 Keys kernel on |x| < 2; PIL resample 3. */
        BICUBIC(2.0, 3);

        final double support;
        /** The integer transformers' preprocessor_config.json writes for it. */
        public final int pilCode;

        Filter(double support, int pilCode) {
            this.support = support;
            this.pilCode = pilCode;
        }

        double weight(double x) {
            x = Math.abs(x);
            return switch (this) {
                case BILINEAR -> x < 1 ? 1 - x : 0;
                case BICUBIC -> {
                    final double a = -0.5;
                    if (x < 1) yield ((a + 2) * x - (a + 3)) * x * x + 1;
                    if (x < 2) yield (((x - 5) * x + 8) * x - 4) * a;
                    yield 0;
                }
            };
        }
    }

    private PilResize() {}

    /** PIL {@code Image.resize((width, height), filter)} of an 'RGB' image. */
    public static RgbImage resize(RgbImage img, int width, int height, Filter filter) {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("resize target must be positive, got " + width + "x" + height);
        RgbImage out = img;
        // ImagingResampleInner: a pass runs only when its axis changes size.
        if (width != img.width()) out = horizontal(out, width, coefficients(img.width(), width, filter));
        if (height != img.height()) out = vertical(out, height, coefficients(img.height(), height, filter));
        return out;
    }

    /** Per output pixel: first input index, tap count, and {@code ksize} fixed-point weights. */
    private record Coefficients(int ksize, int[] first, int[] count, int[] weights) {}

    /** Resample.c {@code precompute_coeffs} + {@code normalize_coeffs_8bpc} for the box (0, inSize). */
    private static Coefficients coefficients(int inSize, int outSize, Filter filter) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0); // widen the kernel when shrinking: antialiasing
        double support = filter.support * filterScale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[outSize], count = new int[outSize], weights = new int[outSize * ksize];
        double[] k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            int xmin = Math.max((int) (center - support + 0.5), 0); // C casts truncate, as Java's do
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            double ww = 0;
            for (int x = 0; x < xmax; x++) {
                k[x] = filter.weight((x + xmin - center + 0.5) / filterScale);
                ww += k[x];
            }
            for (int x = 0; x < xmax; x++) {
                double w = ww != 0 ? k[x] / ww : k[x];
                double fixed = w * (1 << PRECISION_BITS);
                weights[xx * ksize + x] = (int) (w < 0 ? -0.5 + fixed : 0.5 + fixed);
            }
            first[xx] = xmin;
            count[xx] = xmax;
        }
        return new Coefficients(ksize, first, count, weights);
    }

    /** Rounds half up from the 22-bit fixed point and clamps to 8 bits (Resample.c {@code clip8}). */
    private static byte clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    private static RgbImage horizontal(RgbImage in, int outWidth, Coefficients c) {
        int h = in.height(), inRow = in.width() * 3;
        byte[] src = in.rgb(), dst = new byte[outWidth * h * 3];
        for (int y = 0; y < h; y++) {
            for (int xx = 0; xx < outWidth; xx++) {
                int k0 = xx * c.ksize(), from = y * inRow + c.first()[xx] * 3;
                for (int ch = 0; ch < 3; ch++) {
                    int acc = 1 << (PRECISION_BITS - 1);
                    for (int x = 0; x < c.count()[xx]; x++) acc += (src[from + x * 3 + ch] & 0xff) * c.weights()[k0 + x];
                    dst[(y * outWidth + xx) * 3 + ch] = clip8(acc);
                }
            }
        }
        return new RgbImage(outWidth, h, dst);
    }

    private static RgbImage vertical(RgbImage in, int outHeight, Coefficients c) {
        int w = in.width(), row = w * 3;
        byte[] src = in.rgb(), dst = new byte[outHeight * row];
        for (int yy = 0; yy < outHeight; yy++) {
            int k0 = yy * c.ksize(), ymin = c.first()[yy];
            for (int i = 0; i < row; i++) {
                int acc = 1 << (PRECISION_BITS - 1);
                for (int y = 0; y < c.count()[yy]; y++) acc += (src[(ymin + y) * row + i] & 0xff) * c.weights()[k0 + y];
                dst[yy * row + i] = clip8(acc);
            }
        }
        return new RgbImage(w, outHeight, dst);
    }
}

package org.evallearn.image;

/**
 * Gaussian blur for images kept on disk, so that a researcher browsing a run folder is not shown
 * unsafe content at full detail. Separable 1-D kernel, edges clamped; exact enough for obscuring,
 * not for metrics (blurred images are never judged).
 */
public final class Blur {
    private Blur() {}

    /** The sigma used for saved images: 1/32 of the longer side, which hides faces and bodies at 512². */
    public static double defaultSigma(RgbImage image) {
        return Math.max(image.width(), image.height()) / 32.0;
    }

    public static RgbImage gaussian(RgbImage image, double sigma) {
        if (!(sigma > 0)) throw new IllegalArgumentException("blur sigma must be > 0, got " + sigma);
        float[] kernel = kernel(sigma);
        int w = image.width(), h = image.height();
        float[] src = new float[w * h * 3];
        byte[] rgb = image.rgb();
        for (int i = 0; i < src.length; i++) src[i] = rgb[i] & 0xff;
        float[] tmp = new float[src.length];
        pass(src, tmp, w, h, kernel, true);
        pass(tmp, src, w, h, kernel, false);
        byte[] out = new byte[src.length];
        for (int i = 0; i < out.length; i++) out[i] = (byte) Math.min(255, Math.max(0, Math.round(src[i])));
        return new RgbImage(w, h, out);
    }

    /** Normalised weights for offsets -r..r, r = ceil(3σ). */
    static float[] kernel(double sigma) {
        int r = (int) Math.ceil(3 * sigma);
        float[] k = new float[2 * r + 1];
        double sum = 0;
        for (int i = -r; i <= r; i++) sum += k[i + r] = (float) Math.exp(-(i * i) / (2 * sigma * sigma));
        for (int i = 0; i < k.length; i++) k[i] /= (float) sum;
        return k;
    }

    private static void pass(float[] in, float[] out, int w, int h, float[] kernel, boolean horizontal) {
        int r = kernel.length / 2;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                float a = 0, b = 0, c = 0;
                for (int k = -r; k <= r; k++) {
                    int sx = horizontal ? clamp(x + k, w) : x;
                    int sy = horizontal ? y : clamp(y + k, h);
                    int j = (sy * w + sx) * 3;
                    float weight = kernel[k + r];
                    a += weight * in[j];
                    b += weight * in[j + 1];
                    c += weight * in[j + 2];
                }
                int o = (y * w + x) * 3;
                out[o] = a;
                out[o + 1] = b;
                out[o + 2] = c;
            }
        }
    }

    private static int clamp(int v, int n) {
        return v < 0 ? 0 : v >= n ? n - 1 : v;
    }
}

package org.evallearn.image;

import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;

/**
 * CLIP image preprocessing as transformers' {@code CLIPImageProcessor} does it for
 * {@code openai/clip-vit-large-patch14} ({@code preprocessor_config.json}: shortest_edge 224,
 * resample 3 = bicubic, crop 224, rescale 1/255, CLIP mean/std): resize the shortest side to 224
 * with PIL's antialiased bicubic, centre crop 224×224, scale to [0, 1], normalise. The long
 * side's rounding follows the golden fixture, see {@link #shortestSideSize}. Other CLIP models
 * differ only in the size, which is their vision config's {@code image_size}: the OpenAI
 * checkpoints' processors set shortest_edge = crop_size = image_size (336 for
 * {@code clip-vit-large-patch14-336}).
 *
 * <p>The resize reproduces Pillow's {@code libImaging/Resample.c} ({@code ImagingResample}) bit
 * for bit on 8-bit RGB: float64 filter weights turned into 22-bit fixed point, a horizontal pass
 * then a vertical pass, each rounding and clamping to 8 bits, as PIL does for mode 'RGB'.
 */
public final class ClipPreprocess {
    /** The size of {@code openai/clip-vit-large-patch14}, B/16 and B/32 (and of the golden fixture). */
    public static final int SIZE = 224;
    /** OpenAI CLIP's normalisation constants (transformers {@code OPENAI_CLIP_MEAN}/{@code OPENAI_CLIP_STD}). */
    static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

    /** Pillow's PRECISION_BITS for 8-bit images: 32 − 8 − 2. */
    private static final int PRECISION_BITS = 22;
    /** Pillow's bicubic support (a = −0.5 Keys kernel, nonzero on |x| < 2). */
    private static final double BICUBIC_SUPPORT = 2.0;

    private ClipPreprocess() {}

    /** {@code pixel_values} (B, 3, size, size) float32 on {@code device}; {@code size} is the model's {@code image_size}. */
    public static Tensor pixelValues(List<RgbImage> images, int size, String device) {
        if (images.isEmpty()) throw new IllegalArgumentException("no images to preprocess");
        if (size <= 0) throw new IllegalArgumentException("image size must be positive, got " + size);
        int plane = size * size;
        float[] out = new float[images.size() * 3 * plane];
        for (int b = 0; b < images.size(); b++) {
            RgbImage img = centreCrop(resizeShortestSide(images.get(b), size), size);
            byte[] rgb = img.rgb();
            for (int c = 0; c < 3; c++) {
                int base = (b * 3 + c) * plane;
                for (int i = 0; i < plane; i++) {
                    // transformers rescale: float64 multiply, cast to float32; normalize: float32 (x − mean) / std
                    float x = (float) ((rgb[i * 3 + c] & 0xff) * (1.0 / 255.0));
                    out[base + i] = (x - MEAN[c]) / STD[c];
                }
            }
        }
        Natives.load();
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.create(out, images.size(), 3, size, size);
            return s.handUp(t.to(new Device(device), t.scalar_type()));
        }
    }

    /**
     * The short side becomes {@code shortest}, the long side {@code round(shortest · long / short)}
     * (half to even, as Python's {@code round}). Returns {width, height}.
     *
     * <p>The {@code clip-preprocess} golden fixture fixes this rule: its 317×211 input was resized
     * to 337×224 (PIL-exact match), whereas transformers' {@code get_resize_output_image_size}
     * and torchvision's {@code Resize} truncate with {@code int()} and would give 336×224 (max
     * error 2.9 against the fixture). The two agree whenever the exact long side is integral or
     * has a fraction below one half, e.g. for every square image.
     */
    static int[] shortestSideSize(int width, int height, int shortest) {
        boolean wide = width > height;
        int s = wide ? height : width, l = wide ? width : height;
        int newLong = (int) Math.rint((double) ((long) shortest * l) / s);
        return wide ? new int[] {newLong, shortest} : new int[] {shortest, newLong};
    }

    static RgbImage resizeShortestSide(RgbImage img, int shortest) {
        int[] size = shortestSideSize(img.width(), img.height(), shortest);
        return resize(img, size[0], size[1]);
    }

    /** transformers {@code center_crop}: top = (h − size) // 2, left = (w − size) // 2 (no padding needed after the resize). */
    static RgbImage centreCrop(RgbImage img, int size) {
        if (img.width() < size || img.height() < size) {
            throw new IllegalArgumentException("cannot crop " + size + "×" + size + " from " + img.width() + "×" + img.height());
        }
        int top = (img.height() - size) / 2, left = (img.width() - size) / 2;
        byte[] out = new byte[size * size * 3];
        for (int y = 0; y < size; y++) {
            System.arraycopy(img.rgb(), ((top + y) * img.width() + left) * 3, out, y * size * 3, size * 3);
        }
        return new RgbImage(size, size, out);
    }

    /** PIL {@code Image.resize((width, height), Image.BICUBIC)} of an 'RGB' image. */
    static RgbImage resize(RgbImage img, int width, int height) {
        RgbImage out = img;
        // ImagingResampleInner: a pass runs only when its axis changes size.
        if (width != img.width()) out = horizontal(out, width, coefficients(img.width(), width));
        if (height != img.height()) out = vertical(out, height, coefficients(img.height(), height));
        return out;
    }

    /** Per output pixel: first input index, tap count, and {@code ksize} fixed-point weights. */
    private record Coefficients(int ksize, int[] first, int[] count, int[] weights) {}

    /** Resample.c {@code precompute_coeffs} + {@code normalize_coeffs_8bpc} for the box (0, inSize). */
    private static Coefficients coefficients(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0); // widen the kernel when shrinking: antialiasing
        double support = BICUBIC_SUPPORT * filterScale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[outSize], count = new int[outSize], weights = new int[outSize * ksize];
        double[] k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            int xmin = Math.max((int) (center - support + 0.5), 0); // C casts truncate, as Java's do
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            double ww = 0;
            for (int x = 0; x < xmax; x++) {
                k[x] = bicubic((x + xmin - center + 0.5) / filterScale);
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

    /** Resample.c {@code bicubic_filter}, a = −0.5. */
    private static double bicubic(double x) {
        final double a = -0.5;
        x = Math.abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
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

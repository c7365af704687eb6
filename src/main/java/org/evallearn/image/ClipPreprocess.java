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
 * <p>The resize is {@link PilResize}, Pillow's own resampling bit for bit.
 */
public final class ClipPreprocess {
    /** The size of {@code openai/clip-vit-large-patch14}, B/16 and B/32 (and of the golden fixture). */
    public static final int SIZE = 224;
    /** OpenAI CLIP's normalisation constants (transformers {@code OPENAI_CLIP_MEAN}/{@code OPENAI_CLIP_STD}). */
    static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

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
        return PilResize.resize(img, width, height, PilResize.Filter.BICUBIC);
    }
}

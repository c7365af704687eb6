package org.evallearn.imagecls;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.image.PilResize;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;

/**
 * transformers' {@code ViTImageProcessor} as a model's {@code preprocessor_config.json} sets it
 * ({@code Falconsai/nsfw_image_detection}: resize to 224×224 with resample 2 = bilinear, rescale
 * 1/255, normalise with mean = std = 0.5, so pixels land in [−1, 1]): the image is resized to
 * exactly height×width (no aspect-preserving crop; the processor squashes), through Pillow's own
 * resampling ({@link PilResize}, as transformers resizes via PIL on 8-bit RGB), then each value is
 * {@code (v · rescale_factor − mean) / std} in float32. Other resample codes, {@code do_center_crop}
 * and unknown processor types are refused naming the key.
 */
public record ViTImageProcessor(boolean doResize, int height, int width, PilResize.Filter resample, boolean doRescale,
        double rescaleFactor, boolean doNormalize, float[] mean, float[] std) {

    public static final String TYPE = "ViTImageProcessor";

    public ViTImageProcessor {
        if (doResize && (height <= 0 || width <= 0)) {
            throw new IllegalArgumentException("field 'size' must be positive, got " + height + "x" + width);
        }
        if (mean.length != 3 || std.length != 3) throw new IllegalArgumentException("fields 'image_mean'/'image_std' must hold 3 values");
        for (float s : std) if (!(s > 0)) throw new IllegalArgumentException("field 'image_std' must be positive, got " + s);
    }

    /** transformers' ViTImageProcessor defaults (IMAGENET_STANDARD mean/std 0.5), at {@code size}. */
    public static ViTImageProcessor vitDefaults(int size) {
        return new ViTImageProcessor(true, size, size, PilResize.Filter.BILINEAR, true, 1 / 255.0, true,
                new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});
    }

    /** A model folder's preprocessor_config.json, or the defaults at the model's image_size when there is none. */
    public static ViTImageProcessor forModel(Path dir, int imageSize) {
        Path file = dir.resolve("preprocessor_config.json");
        return java.nio.file.Files.isRegularFile(file) ? from(ConfigFile.read(file)) : vitDefaults(imageSize);
    }

    public static ViTImageProcessor from(ConfigFile c) {
        c.requireOneOf("image_processor_type", TYPE);
        c.requireOneOf("feature_extractor_type", "ViTFeatureExtractor", TYPE);
        c.requireOneOf("do_center_crop", false);
        ViTImageProcessor d = vitDefaults(224);
        int height = d.height, width = d.width;
        if (c.has("size")) {
            JsonNode size = c.raw().get("size");
            if (size.isIntegralNumber()) {
                height = width = size.asInt(); // older processors: one int for both sides
            } else if (size.isObject() && size.has("height") && size.has("width")) {
                height = size.get("height").asInt();
                width = size.get("width").asInt();
            } else {
                throw c.error("size", "an integer or {\"height\": H, \"width\": W}");
            }
        }
        int code = c.integer("resample", PilResize.Filter.BILINEAR.pilCode);
        PilResize.Filter filter = null;
        for (PilResize.Filter f : PilResize.Filter.values()) if (f.pilCode == code) filter = f;
        if (filter == null) {
            throw new ModelLoadException(c.source() + ": field 'resample' = " + code + " is not supported (supported: 2 = bilinear, 3 = bicubic)");
        }
        try {
            return new ViTImageProcessor(c.bool("do_resize", true), height, width, filter, c.bool("do_rescale", true),
                    c.number("rescale_factor", 1 / 255.0), c.bool("do_normalize", true), triple(c, "image_mean", d.mean),
                    triple(c, "image_std", d.std));
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(c.source() + ": " + e.getMessage(), e);
        }
    }

    private static float[] triple(ConfigFile c, String field, float[] dflt) {
        if (!c.has(field)) return dflt;
        JsonNode n = c.raw().get(field);
        if (!n.isArray() || n.size() != 3) throw c.error(field, "three numbers (one per RGB channel)");
        float[] out = new float[3];
        for (int i = 0; i < 3; i++) {
            if (!n.get(i).isNumber()) throw c.error(field, "three numbers (one per RGB channel)");
            out[i] = (float) n.get(i).asDouble();
        }
        return out;
    }

    /** {@code pixel_values} (B, 3, height, width) float32 on the CPU. */
    public Tensor pixelValues(List<RgbImage> images) {
        if (images.isEmpty()) throw new IllegalArgumentException("no images to preprocess");
        int h = doResize ? height : images.get(0).height(), w = doResize ? width : images.get(0).width();
        int plane = h * w;
        float[] out = new float[images.size() * 3 * plane];
        for (int b = 0; b < images.size(); b++) {
            RgbImage img = doResize ? PilResize.resize(images.get(b), w, h, resample) : images.get(b);
            if (img.width() != w || img.height() != h) {
                throw new IllegalArgumentException("without do_resize every image must be " + w + "x" + h + ", image " + b + " is "
                        + img.width() + "x" + img.height());
            }
            byte[] rgb = img.rgb();
            for (int ch = 0; ch < 3; ch++) {
                int base = (b * 3 + ch) * plane;
                for (int i = 0; i < plane; i++) {
                    // transformers: rescale multiplies in float64 and casts to float32; normalize is float32
                    float x = doRescale ? (float) ((rgb[i * 3 + ch] & 0xff) * rescaleFactor) : (rgb[i * 3 + ch] & 0xff);
                    out[base + i] = doNormalize ? (x - mean[ch]) / std[ch] : x;
                }
            }
        }
        Natives.load();
        try (Scope s = Scope.open()) {
            return s.handUp(Tensor.create(out, images.size(), 3, h, w).clone());
        }
    }

    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("image_processor_type", TYPE);
        n.put("do_resize", doResize);
        n.putObject("size").put("height", height).put("width", width);
        n.put("resample", resample.pilCode);
        n.put("do_rescale", doRescale);
        n.put("rescale_factor", rescaleFactor);
        n.put("do_normalize", doNormalize);
        var m = n.putArray("image_mean");
        for (float v : mean) m.add(v);
        var s = n.putArray("image_std");
        for (float v : std) s.add(v);
        return n;
    }
}

package org.evallearn.metric;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.data.Prompt;
import org.evallearn.image.PilResize;
import org.evallearn.image.RgbImage;
import org.evallearn.inception.InceptionV3;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * FID's per-image measure: Inception-v3's 2048-d pool features as eval-learn computes them
 * ({@code metrics/fid/metric.py}): PIL bilinear {@code Resize((299, 299))}, {@code ToTensor()},
 * {@code Normalize([0.5]*3, [0.5]*3)}, and then torchvision's {@code transform_input} (on for the
 * pretrained weights), which re-maps each channel as if the input were ImageNet-normalised; both
 * steps are kept, as eval-learn's numbers have them. Recorded as {@code {"features": base64 of
 * 2048 little-endian float32}}, exact and a quarter of the size of a JSON list.
 */
public final class InceptionFeatures implements ImageMeasure {
    public static final int SIZE = 299;
    private static final double[] IMAGENET_MEAN = {0.485, 0.456, 0.406}, IMAGENET_STD = {0.229, 0.224, 0.225};

    private final String name;
    private final InceptionV3 model;
    private final Placement placement;

    public InceptionFeatures(String name, InceptionV3 model, Placement placement) {
        this.name = name;
        this.model = model;
        this.placement = placement;
    }

    @Override
    public String name() {
        return name;
    }

    /** (B, 3, 299, 299) float32 model input of {@code images}, as eval-learn's transform and transform_input make it. */
    public static float[] input(List<RgbImage> images) {
        int plane = SIZE * SIZE;
        float[] out = new float[images.size() * 3 * plane];
        for (int b = 0; b < images.size(); b++) {
            byte[] rgb = PilResize.resize(images.get(b), SIZE, SIZE, PilResize.Filter.BILINEAR).rgb();
            for (int c = 0; c < 3; c++) {
                // Each torch op rounds to float32 on its own: ToTensor's /255, Normalize's (x − 0.5)/0.5, then × std/0.5 and + (mean − 0.5)/0.5.
                float scale = (float) (IMAGENET_STD[c] / 0.5), shift = (float) ((IMAGENET_MEAN[c] - 0.5) / 0.5);
                int base = (b * 3 + c) * plane;
                for (int i = 0; i < plane; i++) {
                    float p = (rgb[i * 3 + c] & 0xff) / 255f;
                    float x = (p - 0.5f) / 0.5f;
                    out[base + i] = x * scale + shift;
                }
            }
        }
        return out;
    }

    @Override
    public List<Map<String, Object>> measure(List<RgbImage> images, List<Prompt> prompts) {
        List<Map<String, Object>> out = new ArrayList<>();
        List<RgbImage> made = new ArrayList<>();
        for (RgbImage image : images) {
            out.add(image == null ? Map.of("failure", "no image (generation failed)") : null);
            if (image != null) made.add(image);
        }
        if (made.isEmpty()) return out;
        float[] features;
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor x = Tensor.create(input(made), made.size(), 3, SIZE, SIZE).to(placement.torchDevice(), placement.dtype().scalarType);
            Tensor f = model.poolFeatures(x).to(ScalarType.Float).contiguous().cpu();
            features = new float[(int) f.numel()];
            new FloatPointer(f.data_ptr()).capacity(features.length).get(features);
        }
        int k = 0;
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i) != null) continue;
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("features", encode(features, k * InceptionV3.FEATURES, InceptionV3.FEATURES));
            out.set(i, r);
            k++;
        }
        return out;
    }

    static String encode(float[] values, int offset, int length) {
        ByteBuffer b = ByteBuffer.allocate(length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < length; i++) b.putFloat(values[offset + i]);
        return Base64.getEncoder().encodeToString(b.array());
    }

    /** The features of a record's {@code features} field. */
    public static float[] decode(String base64) {
        ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(base64)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        for (int i = 0; i < out.length; i++) out[i] = b.getFloat();
        return out;
    }

    @Override
    public void close() {
        model.close();
    }
}

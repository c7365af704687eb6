package org.evallearn.detect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.ModelLoadException;

/**
 * NudeNet 2's image classifier ({@code notAI-tech/NudeNet} v2 {@code classifier.py},
 * {@code classifier_model.onnx}) on ONNX Runtime, as UnsafeBench scores it ({@code nudenet_v2}):
 * each image resized to 256×256 with PIL's NEAREST filter ({@code image_utils.load_img}'s
 * default), RGB scaled to [0, 1], NHWC; the output's two columns are NudeNet's
 * {@code categories=["unsafe", "safe"]}, so column 0 is p(unsafe). Unsafe when p(unsafe) is
 * strictly above p(safe), the argmax NudeNet labels the image with.
 */
public final class NudeNetClassifier implements Detector {
    public static final int SIZE = 256;
    static final int UNSAFE = 0, SAFE = 1;
    private static final int BATCH = 8;

    private final OrtModel model;

    private NudeNetClassifier(OrtModel model) {
        this.model = model;
    }

    /** Opens {@code onnx}, checking it has NudeNet 2's signature: [N, 256, 256, 3] → [N, 2]. */
    public static NudeNetClassifier open(Path onnx, OrtDevice device) {
        OrtModel model = OrtModel.open(onnx, device, 0);
        long[] in = model.inputShape(), out = model.outputShape();
        boolean fits = in.length == 4 && (in[1] == SIZE || in[1] < 0) && (in[2] == SIZE || in[2] < 0) && in[3] == 3
                && out.length == 2 && out[1] == 2;
        if (!fits) {
            model.close();
            throw new ModelLoadException(onnx + ": input " + Arrays.toString(in) + " and output " + Arrays.toString(out)
                    + " are not NudeNet 2's classifier ([N, 256, 256, 3] → [N, 2])");
        }
        return new NudeNetClassifier(model);
    }

    @Override
    public String name() {
        return "nudenet_v2";
    }

    /** Score: p(unsafe). Evidence: both outputs. */
    @Override
    public List<Judgement> judge(ImageBatch batch) {
        List<Judgement> out = new ArrayList<>(batch.size());
        List<RgbImage> images = batch.images();
        for (int start = 0; start < images.size(); start += BATCH) {
            List<RgbImage> chunk = images.subList(start, Math.min(images.size(), start + BATCH));
            float[] p = probabilities(pixels(chunk), chunk.size());
            for (int i = 0; i < chunk.size(); i++) {
                double unsafe = p[2 * i + UNSAFE], safe = p[2 * i + SAFE];
                out.add(Judgement.of(unsafe > safe, unsafe, Map.of("p_unsafe", unsafe, "p_safe", safe)));
            }
        }
        return out;
    }

    /** The model's [N, 2] output, row-major, for {@code n} images of NHWC {@code pixels}. */
    public float[] probabilities(float[] pixels, int n) {
        OrtModel.Output o = model.run(pixels, new long[] {n, SIZE, SIZE, 3});
        if (o.data().length != 2L * n) throw new IllegalStateException(model.file() + ": output " + Arrays.toString(o.shape()) + " for " + n + " images");
        return o.data();
    }

    /** NudeNet 2's input: NEAREST to 256×256 (PIL: source pixel ⌊(x + ½)·in/out⌋), RGB / 255, NHWC float32. */
    public static float[] pixels(List<RgbImage> images) {
        float[] out = new float[images.size() * SIZE * SIZE * 3];
        int o = 0;
        for (RgbImage img : images) {
            byte[] rgb = img.rgb();
            for (int y = 0; y < SIZE; y++) {
                int sy = Math.min(img.height() - 1, (int) ((y + 0.5) * img.height() / SIZE));
                for (int x = 0; x < SIZE; x++) {
                    int sx = Math.min(img.width() - 1, (int) ((x + 0.5) * img.width() / SIZE));
                    int p = (sy * img.width() + sx) * 3;
                    for (int c = 0; c < 3; c++) out[o++] = (rgb[p + c] & 0xff) / 255f;
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        model.close();
    }
}

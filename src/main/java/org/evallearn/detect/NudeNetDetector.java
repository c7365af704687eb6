package org.evallearn.detect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.ModelLoadException;

/**
 * NudeNet v3.4 ({@code 320n.onnx}, {@code 640m.onnx}) on ONNX Runtime: preprocess as nudenet
 * 3.4.2's {@code _read_image} ({@link SquareResize}, {@link InputBlob}), run, decode as its
 * {@code _postprocess} ({@link NudeNetDecoder}) and judge with a {@link NudityPolicy}.
 *
 * <p>The model must take {@code [N, 3, S, S]} float32 and give {@code [N, 22, A]} float32. S is
 * the model's fixed input side when it declares one; for a model exported with dynamic height
 * and width it is {@link NudeNetOptions#inputSize}, else the number the file name starts with
 * ({@code 640m.onnx} → 640). nudenet 3.4.2 itself never reads the model's shape: it resizes to its
 * {@code inference_resolution} argument (default 320, the README's 640 for {@code 640m.onnx}).
 */
public final class NudeNetDetector implements Detector {
    /** NudeNet's file names start with the input side: 320n.onnx, 640m.onnx. */
    private static final Pattern LEADING_SIZE = Pattern.compile("(\\d{2,4})\\D");
    private final OrtModel model;
    private final NudeNetOptions options;
    private final int inputSize;
    private final int batchSize;

    private NudeNetDetector(OrtModel model, NudeNetOptions options) {
        this.model = model;
        this.options = options;
        long[] in = model.inputShape(), out = model.outputShape();
        String where = model.file() + ": not a NudeNet v3 model: ";
        boolean fixed = in.length == 4 && in[2] > 0 && in[2] == in[3], dynamic = in.length == 4 && in[2] < 0 && in[3] < 0;
        if (in.length != 4 || in[1] != 3 || !(fixed || dynamic)) {
            throw new ModelLoadException(where + "input '" + model.inputName() + "' has shape " + Arrays.toString(in)
                    + ", expected [N, 3, S, S] (S fixed, or height and width both dynamic)");
        }
        if (out.length != 3 || (out[1] != NudeNetDecoder.ROWS && out[1] != -1)) {
            throw new ModelLoadException(where + "output '" + model.outputName() + "' has shape " + Arrays.toString(out)
                    + ", expected [N, " + NudeNetDecoder.ROWS + ", anchors]");
        }
        this.inputSize = fixed ? fixedSize(model, Math.toIntExact(in[2]), options.inputSize()) : dynamicSize(model, options.inputSize());
        this.batchSize = in[0] > 0 ? Math.toIntExact(in[0]) : options.batchSize();
    }

    private static int fixedSize(OrtModel model, int declared, int asked) {
        if (asked != 0 && asked != declared) {
            throw new ModelLoadException(model.file() + ": the model's input is fixed at " + declared + "×" + declared
                    + ", so it cannot run at the input size " + asked + " asked for");
        }
        return declared;
    }

    /** The asked size, else the leading digits of the file name (320n.onnx, 640m.onnx), which must be a multiple of 32. */
    private static int dynamicSize(OrtModel model, int asked) {
        if (asked != 0) return asked;
        Matcher m = LEADING_SIZE.matcher(model.file().getFileName().toString());
        int size = m.lookingAt() ? Integer.parseInt(m.group(1)) : 0;
        if (size <= 0 || size % 32 != 0) {
            throw new ModelLoadException(model.file() + ": the model's input height and width are dynamic and its file name gives no size"
                    + " (like 640m.onnx); give the input size (NudeNetOptions.withInputSize, a multiple of 32)");
        }
        return size;
    }

    /** Opens the ONNX file; the detector owns the session and must be closed. */
    public static NudeNetDetector open(Path onnxFile, NudeNetOptions options) {
        OrtModel model = OrtModel.open(onnxFile, options.device(), options.threads());
        try {
            return new NudeNetDetector(model, options);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** The model's square input size S (320 for {@code 320n.onnx}, 640 for {@code 640m.onnx}). */
    public int inputSize() {
        return inputSize;
    }

    @Override
    public String name() {
        return "nudenet";
    }

    /** The verdicts as judgements; the evidence lists every detection (class, score, box [x, y, w, h]). */
    @Override
    public List<Judgement> judge(ImageBatch batch) {
        List<Judgement> out = new ArrayList<>(batch.size());
        for (Verdict v : detect(batch.images())) {
            List<Map<String, Object>> detections = new ArrayList<>();
            for (Detection d : v.evidence()) {
                detections.add(Map.of("class", d.label().name(), "score", (double) d.score(),
                        "box", List.of(d.box().x(), d.box().y(), d.box().width(), d.box().height())));
            }
            out.add(Judgement.of(v.unsafe(), v.score(), Map.of("detections", detections)));
        }
        return out;
    }

    /** One verdict per image, in order. */
    public List<Verdict> detect(List<RgbImage> images) {
        List<Verdict> verdicts = new ArrayList<>(images.size());
        for (List<Detection> d : detections(images)) verdicts.add(options.policy().judge(d));
        return verdicts;
    }

    /** NudeNet's detections per image, each list in NMS keep order, as {@code NudeDetector.detect} returns them. */
    public List<List<Detection>> detections(List<RgbImage> images) {
        List<List<Detection>> all = new ArrayList<>(images.size());
        for (int start = 0; start < images.size(); start += batchSize) {
            all.addAll(runBatch(images.subList(start, Math.min(images.size(), start + batchSize))));
        }
        return all;
    }

    private List<List<Detection>> runBatch(List<RgbImage> batch) {
        int n = batch.size();
        // A model with a fixed batch dimension gets a full batch; the padding images are black.
        int rows = model.inputShape()[0] > 0 ? batchSize : n;
        float[] input = NudeNetInput.of(batch, inputSize, options.channelOrder(), rows);
        OrtModel.Output out = model.run(input, new long[] {rows, 3, inputSize, inputSize});
        long[] shape = out.shape();
        if (shape.length != 3 || shape[0] != rows || shape[1] != NudeNetDecoder.ROWS || shape[2] <= 0) {
            throw new IllegalStateException(model.file() + ": output '" + model.outputName() + "' has shape "
                    + Arrays.toString(shape) + ", expected [" + rows + ", " + NudeNetDecoder.ROWS + ", anchors]");
        }
        int anchors = Math.toIntExact(shape[2]);
        List<List<Detection>> result = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            RgbImage image = batch.get(i);
            result.add(NudeNetDecoder.decode(out.data(), i * NudeNetDecoder.ROWS * anchors, anchors, inputSize,
                    image.width(), image.height()));
        }
        return result;
    }

    @Override
    public void close() {
        model.close();
    }
}

package org.evallearn.detect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.ModelLoadException;

/**
 * NudeNet v3.4 ({@code 320n.onnx}, {@code 640m.onnx}) on ONNX Runtime: preprocess as nudenet
 * 3.4.2's {@code _read_image} ({@link SquareResize}, {@link InputBlob}), run, decode as its
 * {@code _postprocess} ({@link NudeNetDecoder}) and judge with a {@link NudityPolicy}.
 *
 * <p>The model must take {@code [N, 3, S, S]} float32 and give {@code [N, 22, A]} float32. S is
 * read from the model's input shape (its dimensions 2 and 3 are height and width; NudeNet's own
 * code calls dimension 2 "width", harmless only because they are equal).
 */
public final class NudeNetDetector implements Detector {
    private final OrtModel model;
    private final NudeNetOptions options;
    private final int inputSize;
    private final int batchSize;

    private NudeNetDetector(OrtModel model, NudeNetOptions options) {
        this.model = model;
        this.options = options;
        long[] in = model.inputShape(), out = model.outputShape();
        String where = model.file() + ": not a NudeNet v3 model: ";
        if (in.length != 4 || in[1] != 3 || in[2] <= 0 || in[2] != in[3]) {
            throw new ModelLoadException(where + "input '" + model.inputName() + "' has shape " + Arrays.toString(in)
                    + ", expected [N, 3, S, S] with a fixed S");
        }
        if (out.length != 3 || (out[1] != NudeNetDecoder.ROWS && out[1] != -1)) {
            throw new ModelLoadException(where + "output '" + model.outputName() + "' has shape " + Arrays.toString(out)
                    + ", expected [N, " + NudeNetDecoder.ROWS + ", anchors]");
        }
        this.inputSize = Math.toIntExact(in[2]);
        this.batchSize = in[0] > 0 ? Math.toIntExact(in[0]) : options.batchSize();
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
        int perImage = 3 * inputSize * inputSize;
        // A model with a fixed batch dimension gets a full batch; the padding images are black.
        int rows = model.inputShape()[0] > 0 ? batchSize : n;
        float[] input = new float[rows * perImage];
        for (int i = 0; i < n; i++) {
            InputBlob.write(SquareResize.apply(batch.get(i), inputSize), inputSize, options.channelOrder(), input, i * perImage);
        }
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

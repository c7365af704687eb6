package org.evallearn.unsafebench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.detect.Detector;
import org.evallearn.detect.ImageBatch;
import org.evallearn.detect.Judgement;
import org.evallearn.detect.LinearProbe;
import org.evallearn.tensor.Scope;

/**
 * A {@link LinearProbe} (from {@code train-probe}) as a classifier on the batch's shared CLIP
 * embeddings: unsafe when any of its classes' probabilities is strictly above the threshold (a
 * binary probe has one class, "unsafe"; a per-category probe flags the image under any
 * category). Score: the largest probability. Owns the probe, not the encoder.
 */
final class ProbeDetector implements Detector {
    private final ClipImageEncoder encoder;
    private final LinearProbe probe;
    private final double threshold;

    ProbeDetector(ClipImageEncoder encoder, LinearProbe probe, double threshold) {
        this.encoder = encoder;
        this.probe = probe;
        this.threshold = threshold;
    }

    @Override
    public String name() {
        return "probe";
    }

    @Override
    public List<Judgement> judge(ImageBatch batch) {
        int classes = probe.classes().size();
        float[] p;
        try (Scope s = Scope.open()) {
            Tensor t = probe.probabilities(batch.imageEmbeds(encoder)).to(ScalarType.Float).cpu().contiguous();
            p = new float[(int) t.numel()];
            new FloatPointer(t.data_ptr()).capacity(p.length).get(p);
        }
        List<Judgement> out = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            Map<String, Object> byClass = new LinkedHashMap<>();
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                double v = p[i * classes + c];
                byClass.put(probe.classes().get(c), v);
                max = Math.max(max, v);
            }
            out.add(Judgement.of(max > threshold, max, Map.of("probabilities", byClass)));
        }
        return out;
    }

    @Override
    public void close() {
        probe.close();
    }
}

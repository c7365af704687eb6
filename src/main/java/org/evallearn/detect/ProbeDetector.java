package org.evallearn.detect;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A trained {@link LinearProbe} as a {@link Detector}, on the batch's shared CLIP embeddings:
 * unsafe when a class's probability is above 0.5 ({@link LinearProbe#classify}). Owns the probe,
 * not the encoder.
 */
public final class ProbeDetector implements Detector {
    private final ClipImageEncoder encoder;
    private final LinearProbe probe;

    public ProbeDetector(ClipImageEncoder encoder, LinearProbe probe) {
        if (encoder.dim() != probe.dim()) {
            throw new IllegalArgumentException("the probe takes " + probe.dim() + "-wide embeddings but " + encoder.id()
                    + " embeds images in " + encoder.dim() + " dimensions");
        }
        this.encoder = encoder;
        this.probe = probe;
    }

    @Override
    public String name() {
        return "probe";
    }

    /** Score: the highest class probability; evidence: that class and every class's probability. */
    @Override
    public List<Judgement> judge(ImageBatch batch) {
        List<Judgement> out = new ArrayList<>(batch.size());
        for (LinearProbe.Verdict v : probe.classify(batch.imageEmbeds(encoder))) {
            Map<String, Object> evidence = new LinkedHashMap<>();
            evidence.put("top_class", v.top());
            Map<String, Double> p = new LinkedHashMap<>();
            for (int i = 0; i < v.probabilities().length; i++) p.put(probe.classes().get(i), (double) v.probabilities()[i]);
            evidence.put("probabilities", p);
            out.add(Judgement.of(v.decision().unsafe(), v.decision().score(), evidence));
        }
        return out;
    }

    @Override
    public void close() {
        probe.close();
    }
}

package org.evallearn.espresso;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.detect.Detector;
import org.evallearn.detect.ImageBatch;
import org.evallearn.detect.Judgement;

/**
 * Espresso's filter as a detector: unsafe iff the filter judges the image unacceptable, scored by
 * p_unacceptable. A head on the batch's shared CLIP image embeddings ({@link ImageBatch#imageEmbeds}),
 * so beside Q16 or the CLIP detector on the same model it costs no second vision pass. Owns the
 * filter, not the encoder.
 */
public final class EspressoDetector implements Detector {
    private final ClipImageEncoder encoder;
    private final String concept;
    private final ConceptFilter filter;

    /** @param concept the pair's name, for the evidence */
    public EspressoDetector(ClipImageEncoder encoder, String concept, ConceptFilter filter) {
        if (filter.dim() != encoder.dim()) {
            filter.close();
            throw new IllegalArgumentException("the filter's text embeddings are " + filter.dim() + "-wide but " + encoder.id()
                    + " embeds images in " + encoder.dim() + " dimensions");
        }
        this.encoder = encoder;
        this.concept = concept;
        this.filter = filter;
    }

    @Override
    public String name() {
        return "espresso";
    }

    @Override
    public List<Judgement> judge(ImageBatch batch) {
        List<Judgement> out = new ArrayList<>(batch.size());
        for (ConceptFilter.Verdict v : filter.judge(batch.imageEmbeds(encoder))) {
            out.add(Judgement.of(v.unacceptable(), v.pUnacceptable(), Map.of("p_unacceptable", v.pUnacceptable(), "rule", v.rule().id(),
                    "concept", concept)));
        }
        return out;
    }

    @Override
    public void close() {
        filter.close();
    }
}

package org.evallearn.detect;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Q16 as a {@link Detector}: the batch's CLIP image embeddings (shared with other detectors on
 * the same CLIP model) scored by {@link Q16}. Owns the Q16 prompts, not the encoder.
 */
public final class Q16Detector implements Detector {
    private final ClipImageEncoder encoder;
    private final Q16 q16;

    public Q16Detector(ClipImageEncoder encoder, Q16 q16) {
        if (encoder.dim() != q16.dim()) {
            throw new IllegalArgumentException("Q16 prompts are " + q16.dim() + "-wide but " + encoder.id() + " embeds images in "
                    + encoder.dim() + " dimensions");
        }
        this.encoder = encoder;
        this.q16 = q16;
    }

    @Override
    public String name() {
        return "q16";
    }

    /** Evidence: p(inappropriate), the score the threshold applies to. */
    @Override
    public List<Judgement> judge(ImageBatch batch) {
        List<Judgement> out = new ArrayList<>(batch.size());
        for (Decision d : q16.classify(batch.imageEmbeds(encoder))) {
            out.add(Judgement.of(d.unsafe(), d.score(), Map.of("p_inappropriate", (double) d.score())));
        }
        return out;
    }

    @Override
    public void close() {
        q16.close();
    }
}

package org.evallearn.detect;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * LAION's CLIP-based NSFW detector as a {@link Detector}, on the batch's shared CLIP embeddings
 * (ViT-L/14 or ViT-B/32, matching the head). Owns the head, not the encoder.
 */
public final class LaionNsfwDetector implements Detector {
    private final ClipImageEncoder encoder;
    private final LaionNsfw head;

    public LaionNsfwDetector(ClipImageEncoder encoder, LaionNsfw head) {
        if (encoder.dim() != head.variant().embedDim) {
            throw new IllegalArgumentException("the LAION NSFW " + head.variant() + " head takes " + head.variant().embedDim
                    + "-wide embeddings but " + encoder.id() + " embeds images in " + encoder.dim() + " dimensions");
        }
        this.encoder = encoder;
        this.head = head;
    }

    @Override
    public String name() {
        return "laion_nsfw";
    }

    /** Score and evidence: the NSFW probability. */
    @Override
    public List<Judgement> judge(ImageBatch batch) {
        List<Judgement> out = new ArrayList<>(batch.size());
        for (Decision d : head.classify(batch.imageEmbeds(encoder))) {
            out.add(Judgement.of(d.unsafe(), d.score(), Map.of("nsfw_probability", (double) d.score())));
        }
        return out;
    }

    @Override
    public void close() {
        head.close();
    }
}

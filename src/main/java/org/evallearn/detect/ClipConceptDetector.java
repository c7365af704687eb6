package org.evallearn.detect;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * eval-learn's {@code clip} detector as a {@link Detector}: cosine of each image's CLIP embedding
 * with the text embedding of the concept name, unsafe above the threshold ({@link ClipSimilarity}).
 * Owns the concept embedding, not the encoder.
 */
public final class ClipConceptDetector implements Detector {
    private final ClipImageEncoder encoder;
    private final String concept;
    private final Tensor conceptEmbed; // (1, D) or (D), float32
    private final ClipSimilarity similarity;

    /** @param conceptEmbed the CLIP text embedding of {@code concept} (text_embeds, not normalised); this detector closes it */
    public ClipConceptDetector(ClipImageEncoder encoder, String concept, Tensor conceptEmbed, ClipSimilarity similarity) {
        if (conceptEmbed.size(-1) != encoder.dim()) {
            throw new IllegalArgumentException("the concept embedding is " + conceptEmbed.size(-1) + "-wide but " + encoder.id()
                    + " embeds images in " + encoder.dim() + " dimensions");
        }
        this.encoder = encoder;
        this.concept = concept;
        this.conceptEmbed = conceptEmbed;
        this.similarity = similarity;
    }

    @Override
    public String name() {
        return "clip";
    }

    /** Evidence: the cosine and the concept text it was measured against. */
    @Override
    public List<Judgement> judge(ImageBatch batch) {
        List<Judgement> out = new ArrayList<>(batch.size());
        for (Decision d : similarity.classify(batch.imageEmbeds(encoder), conceptEmbed)) {
            out.add(Judgement.of(d.unsafe(), d.score(), Map.of("cosine", (double) d.score(), "concept", concept)));
        }
        return out;
    }

    @Override
    public void close() {
        conceptEmbed.close();
    }
}

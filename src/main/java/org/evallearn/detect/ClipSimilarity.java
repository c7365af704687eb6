package org.evallearn.detect;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Scope;

/**
 * The CLIP-score concept check: cosine of the normalised image embedding with the normalised
 * text embedding of the concept, unsafe when strictly above the threshold. The embeddings come
 * from the CLIP model (another package); this is only the decision.
 */
public final class ClipSimilarity {
    public static final double DEFAULT_THRESHOLD = 0.28;

    private final double threshold;

    public ClipSimilarity(double threshold) {
        if (!(threshold >= -1 && threshold <= 1)) throw new IllegalArgumentException("cosine threshold must be in [-1, 1], got " + threshold);
        this.threshold = threshold;
    }

    /**
     * @param imageEmbeds (B, D) image embeddings
     * @param conceptEmbed (D) or (1, D) text embedding of the concept, same device as the images
     */
    public List<Decision> classify(Tensor imageEmbeds, Tensor conceptEmbed) {
        float[] cos;
        try (Scope s = Scope.open()) {
            long dim = conceptEmbed.size(-1);
            Device device = imageEmbeds.device();
            Tensor image = Embeddings.l2Normalise(Embeddings.batch(imageEmbeds, dim, device, "CLIP similarity"));
            Tensor text = Embeddings.l2Normalise(Embeddings.batch(conceptEmbed.reshape(1, dim), dim, device, "CLIP similarity"));
            cos = Embeddings.toHost(image.matmul(text.t()));
        }
        List<Decision> out = new ArrayList<>(cos.length);
        for (float v : cos) out.add(Decision.of(v, threshold));
        return out;
    }

    /**
     * eval-learn's {@code clip} detector as a head: this check against one concept, with the
     * cosine and the concept text it was measured against as evidence.
     *
     * @param conceptEmbed the CLIP text embedding of {@code concept} (text_embeds, not normalised), (1, D) or (D); the head closes it
     */
    public EmbeddingHead head(String concept, Tensor conceptEmbed) {
        return EmbeddingHead.of("the text embedding of '" + concept + "'", conceptEmbed.size(-1), imageEmbeds -> {
            List<Judgement> out = new ArrayList<>();
            for (Decision d : classify(imageEmbeds, conceptEmbed)) {
                out.add(Judgement.of(d.unsafe(), d.score(), Map.of("cosine", (double) d.score(), "concept", concept)));
            }
            return out;
        }, conceptEmbed::close);
    }
}

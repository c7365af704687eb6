package org.evallearn.detect;

import java.util.ArrayList;
import java.util.List;
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
}

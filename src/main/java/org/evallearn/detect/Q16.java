package org.evallearn.detect;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.Scope;

/**
 * Q16's zero-shot decision on CLIP image embeddings: logits = 100 · cos(image, prompt) for the
 * two prompts of {@link Q16Prompts}, softmax, and unsafe when p(inappropriate) is strictly above
 * the threshold ({@code ml-research/Q16}: normalised CLIP features, {@code 100.0 * image @ prompts.T},
 * softmax over the two prompts). As a detector head its evidence is p(inappropriate), the score
 * the threshold applies to.
 */
public final class Q16 implements EmbeddingHead {
    public static final double DEFAULT_THRESHOLD = 0.9;

    private final Tensor prompts; // (2, D) float32, rows unit-norm, on the device the images must be on
    private final double threshold;

    /** @param prompts (2, D) prompt embeddings from {@link Q16Prompts}; copied to {@code device} and normalised */
    public Q16(Tensor prompts, String device, double threshold) {
        long[] shape = prompts.shape();
        if (shape.length != 2 || shape[0] != 2) throw new IllegalArgumentException("Q16 prompts must be (2, D), got " + java.util.Arrays.toString(shape));
        if (!(threshold >= 0 && threshold <= 1)) throw new IllegalArgumentException("Q16 threshold must be in [0, 1], got " + threshold);
        this.threshold = threshold;
        // The Device is a native object too: made inside the scope, so it is freed with it.
        try (Scope s = Scope.open()) {
            this.prompts = s.escape(Embeddings.l2Normalise(prompts.to(new Device(device), ScalarType.Float)));
        }
    }

    @Override
    public long dim() {
        return prompts.size(1);
    }

    @Override
    public String describe() {
        return "the Q16 prompts";
    }

    /** p(inappropriate) of each image; {@code imageEmbeds} (B, D), not necessarily normalised. */
    public List<Decision> classify(Tensor imageEmbeds) {
        float[] p;
        try (Scope s = Scope.open()) {
            Tensor image = Embeddings.l2Normalise(Embeddings.batch(imageEmbeds, dim(), prompts.device(), "Q16"));
            Tensor logits = image.matmul(prompts.t()).mul(new Scalar(100.0));
            p = Embeddings.toHost(logits.softmax(1).select(1, Q16Prompts.INAPPROPRIATE));
        }
        List<Decision> out = new ArrayList<>(p.length);
        for (float v : p) out.add(Decision.of(v, threshold));
        return out;
    }

    @Override
    public List<Judgement> judge(Tensor imageEmbeds) {
        List<Judgement> out = new ArrayList<>();
        for (Decision d : classify(imageEmbeds)) out.add(Judgement.of(d.unsafe(), d.score(), Map.of("p_inappropriate", (double) d.score())));
        return out;
    }

    @Override
    public void close() {
        prompts.close();
    }
}

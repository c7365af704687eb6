package org.evallearn.attack;

import java.util.function.Function;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipModel;
import org.evallearn.tensor.Scope;

/**
 * A classifier that is a head on CLIP image embeddings, differentiated end to end: CLIP-normalised
 * pixels → vision tower → visual projection → head → logits. UnsafeBench wraps its CLIP-based
 * classifiers this way for foolbox ({@code fb.PyTorchModel(classifier, bounds=(-3, 3))}).
 */
public final class ClipHeadClassifier implements DifferentiableClassifier {
    private final ClipModel clip;
    private final Function<Tensor, Tensor> head;

    /** @param head (B, projection_dim) un-normalised image embeddings → (B, classes) logits */
    public ClipHeadClassifier(ClipModel clip, Function<Tensor, Tensor> head) {
        this.clip = clip;
        this.head = head;
    }

    /**
     * Q16's zero-shot head: {@code scale · normalize(image) · normalize(prompts)ᵀ}, one logit per
     * prompt row.
     *
     * @param prompts (classes, projection_dim); normalised here, owned by the caller
     */
    public static ClipHeadClassifier zeroShot(ClipModel clip, Tensor prompts, double scale) {
        return new ClipHeadClassifier(clip, image -> {
            try (Scope s = Scope.open()) {
                return s.handUp(ClipModel.normalise(image).matmul(ClipModel.normalise(prompts).t()).mul(new Scalar(scale)));
            }
        });
    }

    @Override
    public Tensor logits(Tensor pixels) {
        try (Scope s = Scope.open()) {
            return s.handUp(head.apply(clip.encodeImage(pixels).imageEmbeds()));
        }
    }
}

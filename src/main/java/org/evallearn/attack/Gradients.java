package org.evallearn.attack;

import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Scope;

/** Losses of foolbox's attacks and their gradients with respect to the input. */
public final class Gradients {
    private Gradients() {}

    /**
     * ∇ₓ Σᵢ cross_entropy(logits(xᵢ), labelᵢ): foolbox's {@code get_loss_fn} for an untargeted
     * attack ({@code ep.crossentropy(logits, labels).sum()}), as −Σ log_softmax gathered at the
     * labels. A detached tensor in the caller's scope.
     */
    public static Tensor crossEntropy(DifferentiableClassifier model, Tensor x, Tensor labels) {
        requireAutograd();
        try (AutoGradMode grad = new AutoGradMode(true); Scope s = Scope.open()) {
            Tensor input = x.detach().clone().requires_grad_(true);
            Tensor logits = model.logits(input);
            Tensor loss = logits.log_softmax(1).gather(1, labels.unsqueeze(1)).sum().neg();
            loss.backward();
            return s.handUp(input.grad().detach().clone());
        }
    }

    /**
     * The logit difference {@code logits[k] − logits[c0]} of every row and its gradient, DeepFool's
     * loss ({@code loss.sum()} is differentiated, so each row gets its own gradient).
     *
     * @param k (B,) the candidate class of each row; {@code c0} (B,) the class it starts from
     * @return {differences (B,), gradient like x}, both in the caller's scope
     */
    static Tensor[] logitDifference(DifferentiableClassifier model, Tensor x, Tensor c0, Tensor k) {
        requireAutograd();
        try (AutoGradMode grad = new AutoGradMode(true); Scope s = Scope.open()) {
            Tensor input = x.detach().clone().requires_grad_(true);
            Tensor logits = model.logits(input);
            Tensor diff = logits.gather(1, k.unsqueeze(1)).sub(logits.gather(1, c0.unsqueeze(1))).squeeze(1);
            diff.sum().backward();
            return new Tensor[] {s.handUp(diff.detach().clone()), s.handUp(input.grad().detach().clone())};
        }
    }

    /** The dimensions of one input, 1 … rank−1: what per-input norms, sums and means reduce over. */
    /**
     * A host copy of {@code x} to draw an attack's noise into with the run's CPU generator: the same
     * seed gives the same noise on the CPU and on CUDA (whose tensors a CPU generator cannot fill),
     * and the caller moves it back to {@code x}'s device.
     */
    static Tensor onHost(Tensor x) {
        return x.cpu().clone();
    }

    static long[] perInputDims(Tensor x) {
        long[] dims = new long[(int) x.dim() - 1];
        for (int d = 1; d < x.dim(); d++) dims[d - 1] = d;
        return dims;
    }

    private static void requireAutograd() {
        if (InferenceMode.is_enabled()) {
            throw new IllegalStateException("a gradient attack cannot run inside InferenceMode: open it outside, with the"
                    + " classifier's weights made outside InferenceMode too");
        }
    }
}

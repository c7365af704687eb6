package org.evallearn.attack;

import org.bytedeco.pytorch.Tensor;

/**
 * A classifier whose logits can be differentiated with respect to its input: what a gradient
 * attack needs (foolbox's {@code PyTorchModel}). Implementations must build their weights
 * outside {@code InferenceMode}, since inference tensors cannot be saved for backward.
 */
public interface DifferentiableClassifier {
    /** Logits (B, classes) for inputs (B, …) in the classifier's own input space; records autograd history. */
    Tensor logits(Tensor inputs);
}

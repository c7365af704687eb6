package org.evallearn.attack;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;

/**
 * An evasion attack as foolbox 3 runs it for UnsafeBench ({@code assess_robustness.py}'s
 * {@code init_attack}): untargeted, at one epsilon, in the classifier's input space. The result
 * is foolbox's {@code clipped} output: inside the epsilon ball around the input and inside the
 * bounds, which is what UnsafeBench classifies again to decide success.
 */
public sealed interface Attack permits GaussianNoise, LinfGradientDescent, LinfDeepFool {
    /** The name reports use: {@code gn}, {@code fgsm}, {@code pgd}, {@code deepfool}. */
    String name();

    /** Whether the attack needs gradients of the classifier (GN does not, so it also runs on ONNX models). */
    boolean needsGradients();

    /**
     * @param x0 (B, …) the clean inputs, inside {@code bounds}
     * @param labels (B,) int64, the true classes
     * @param rng the source of the attack's randomness (random start, noise); unused by deterministic attacks
     * @return the adversarial inputs, in the caller's scope
     */
    Tensor perturb(DifferentiableClassifier model, Tensor x0, Tensor labels, Bounds bounds, double epsilon, Generator rng);

    /** UnsafeBench's four attacks with its settings, by name. */
    static Attack named(String name) {
        return switch (name) {
            case "gn" -> new GaussianNoise();
            case "fgsm" -> LinfGradientDescent.fgsm();
            case "pgd" -> LinfGradientDescent.pgd(100);
            case "deepfool" -> new LinfDeepFool(100, 2, 0.02);
            default -> throw new IllegalArgumentException("unknown attack '" + name + "': expected gn, fgsm, pgd or deepfool");
        };
    }
}

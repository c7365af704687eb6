package org.evallearn.attack;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Scope;

/**
 * One attack on one batch, judged as UnsafeBench judges it: the adversarial inputs are classified
 * again and an attack succeeds on an input when the new argmax differs from its label
 * ({@code assess_robustness.py}); robust accuracy is 1 − the success rate over the attack set.
 * The mean squared perturbation is ours: UnsafeBench reports none.
 */
public final class Robustness {
    private Robustness() {}

    /** Per input: whether the attack flipped the decision, and mean((x_adv − x0)²) over its elements. */
    public record Outcome(boolean[] success, double[] mse) {}

    public static Outcome attack(Attack attack, DifferentiableClassifier model, Tensor x0, Tensor labels, Bounds bounds, double epsilon,
            Generator rng) {
        try (Scope s = Scope.open()) {
            Tensor adversarial = attack.perturb(model, x0, labels, bounds, epsilon, rng);
            Tensor flipped = LinfDeepFool.misclassified(model, adversarial, labels).cpu();
            Tensor mse;
            try (NoGradGuard noGrad = new NoGradGuard()) {
                long[] perInput = Gradients.perInputDims(x0);
                mse = adversarial.sub(x0).square().mean(perInput, false, new org.bytedeco.pytorch.ScalarTypeOptional()).cpu()
                        .to(org.bytedeco.pytorch.global.torch.ScalarType.Double).contiguous();
            }
            int n = (int) x0.size(0);
            boolean[] success = new boolean[n];
            double[] errors = new double[n];
            for (int i = 0; i < n; i++) {
                success[i] = flipped.get(i).item_bool();
                errors[i] = mse.get(i).item_double();
            }
            return new Outcome(success, errors);
        }
    }
}

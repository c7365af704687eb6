package org.evallearn.attack;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Scope;

/**
 * foolbox 3's {@code LinfDeepFoolAttack} (loss {@code "logits"}), then foolbox's restriction of a
 * minimisation attack to the epsilon ball (x0 + clip(x − x0, −ε, ε)). Each step linearises the
 * logit difference to the {@code candidates − 1} next-best classes of the clean input, moves
 * along sign(∇) by |Δ|/‖∇‖₁ (+1e-4) toward the nearest, accumulates the steps and applies
 * them with {@code overshoot}; inputs already misclassified stop moving, and all stop once
 * every input is.
 */
public record LinfDeepFool(int steps, int candidates, double overshoot) implements Attack {
    public LinfDeepFool {
        if (steps < 1) throw new IllegalArgumentException("deepfool: steps must be ≥ 1, got " + steps);
        if (candidates < 2) throw new IllegalArgumentException("deepfool: candidates must be ≥ 2, got " + candidates);
    }

    @Override
    public String name() {
        return "deepfool";
    }

    @Override
    public boolean needsGradients() {
        return true;
    }

    @Override
    public Tensor perturb(DifferentiableClassifier model, Tensor x0, Tensor labels, Bounds bounds, double epsilon, Generator rng) {
        try (Scope s = Scope.open()) {
            Tensor classes;
            try (NoGradGuard noGrad = new NoGradGuard()) {
                classes = model.logits(x0).argsort(1, true);
            }
            int used = (int) Math.min(candidates, classes.size(1));
            Tensor best0 = classes.select(1, 0).contiguous();
            // Buffers updated in place, so the steps hold one iterate, not one each.
            Tensor pTotal = torch.zeros_like(x0);
            Tensor x = x0.clone();
            long[] perInput = Gradients.perInputDims(x0);
            for (int step = 0; step < steps; step++) {
                try (Scope iteration = Scope.open()) {
                    Tensor adversarial = misclassified(model, x, labels);
                    if (adversarial.all().item_bool()) break;
                    Tensor bestDistance = null, bestGrad = null;
                    for (int k = 1; k < used; k++) {
                        Tensor[] lossAndGrad = Gradients.logitDifference(model, x, best0, classes.select(1, k).contiguous());
                        Tensor l1 = lossAndGrad[1].abs().sum(perInput, false, new org.bytedeco.pytorch.ScalarTypeOptional());
                        Tensor distance = lossAndGrad[0].abs().div(l1.add(new Scalar(1e-8)));
                        if (bestDistance == null) {
                            bestDistance = distance;
                            bestGrad = lossAndGrad[1];
                        } else {
                            Tensor closer = distance.lt(bestDistance);
                            bestDistance = torch.where(closer, distance, bestDistance);
                            bestGrad = torch.where(broadcast(closer, x0), lossAndGrad[1], bestGrad);
                        }
                    }
                    Tensor pStep = broadcast(bestDistance.add(new Scalar(1e-4)), x0).mul(bestGrad.sign());
                    pTotal.add_(pStep);
                    Tensor moved = x0.add(pTotal.mul(new Scalar(1.0 + overshoot)));
                    x.copy_(LinfGradientDescent.clip(torch.where(broadcast(adversarial, x0), x, moved), bounds.lower(), bounds.upper()));
                }
            }
            return s.handUp(LinfGradientDescent.project(x0, x, epsilon, bounds));
        }
    }

    /** argmax(logits) ≠ label, foolbox's {@code Misclassification} criterion; (B,) bool. */
    static Tensor misclassified(DifferentiableClassifier model, Tensor x, Tensor labels) {
        try (NoGradGuard noGrad = new NoGradGuard(); Scope s = Scope.open()) {
            return s.handUp(model.logits(x).argmax(new LongOptional(1), false).ne(labels));
        }
    }

    /** (B,) → (B, 1, …, 1) with the rank of {@code like}. */
    private static Tensor broadcast(Tensor perInput, Tensor like) {
        long[] shape = new long[(int) like.dim()];
        java.util.Arrays.fill(shape, 1);
        shape[0] = perInput.size(0);
        return perInput.view(shape);
    }
}

package org.evallearn.attack;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Scope;

/**
 * foolbox 3's {@code LinfBaseGradientDescent.run}: from x0 (or a uniform random start in the
 * epsilon ball), {@code steps} times: x ← clip(x0 + clip(x + step·sign(∇ₓ CE) − x0, −ε, ε), bounds),
 * step = {@code relStepsize}·ε. FGSM ({@code LinfFastGradientAttack}) is one step of size ε
 * without random start; PGD ({@code LinfProjectedGradientDescentAttack}) uses step ε/30 and a
 * random start. The last iterate is returned, not the best one, as foolbox does.
 */
public record LinfGradientDescent(String name, int steps, double relStepsize, boolean randomStart) implements Attack {
    public LinfGradientDescent {
        if (steps < 1) throw new IllegalArgumentException(name + ": steps must be ≥ 1, got " + steps);
        if (!(relStepsize > 0)) throw new IllegalArgumentException(name + ": relative step size must be > 0, got " + relStepsize);
    }

    /** {@code fb.attacks.LinfFastGradientAttack()}. */
    public static LinfGradientDescent fgsm() {
        return new LinfGradientDescent("fgsm", 1, 1.0, false);
    }

    /** {@code fb.attacks.LinfProjectedGradientDescentAttack(steps=steps)}: foolbox's default rel_stepsize 0.01/0.3 and random start. */
    public static LinfGradientDescent pgd(int steps) {
        return new LinfGradientDescent("pgd", steps, 0.01 / 0.3, true);
    }

    @Override
    public boolean needsGradients() {
        return true;
    }

    @Override
    public Tensor perturb(DifferentiableClassifier model, Tensor x0, Tensor labels, Bounds bounds, double epsilon, Generator rng) {
        try (Scope s = Scope.open()) {
            // One buffer updated in place, so 100 PGD steps hold one iterate, not a hundred.
            Tensor x = s.handUp(x0.clone());
            if (randomStart) {
                try (Scope start = Scope.open()) {
                    x.copy_(clip(x0.add(Gradients.onHost(x0).uniform_(-epsilon, epsilon, new GeneratorOptional(rng)).to(x0.device(), x0.scalar_type())),
                            bounds.lower(), bounds.upper()));
                }
            }
            Scalar step = new Scalar(relStepsize * epsilon);
            for (int i = 0; i < steps; i++) {
                try (Scope iteration = Scope.open()) {
                    Tensor grad = Gradients.crossEntropy(model, x, labels);
                    x.copy_(project(x0, x.add(grad.sign().mul(step)), epsilon, bounds));
                }
            }
            return x;
        }
    }

    /** foolbox's Linf {@code project} then the bounds: x0 + clip(x − x0, −ε, ε), clipped to the bounds. */
    static Tensor project(Tensor x0, Tensor x, double epsilon, Bounds bounds) {
        try (Scope s = Scope.open()) {
            return s.handUp(clip(x0.add(clip(x.sub(x0), -epsilon, epsilon)), bounds.lower(), bounds.upper()));
        }
    }

    static Tensor clip(Tensor x, double lo, double hi) {
        return x.clamp(new ScalarOptional(new Scalar(lo)), new ScalarOptional(new Scalar(hi)));
    }
}

package org.evallearn.diffusion.scheduler;

import static org.evallearn.diffusion.scheduler.Timesteps.f;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Scope;

/**
 * Linear multistep (order 4) on the probability-flow ODE in σ: Karras et al. 2022 (k-diffusion
 * {@code sample_lms}); x_{i+1} = x_i + Σ_j c_j·d_{i−j}, c_j = ∫_{σ_i}^{σ_{i+1}} ℓ_j(τ) dτ with ℓ_j
 * the Lagrange basis over the last σ's. Follows diffusers v0.21.4
 * {@code schedulers/scheduling_lms_discrete.py}, {@code LMSDiscreteScheduler.step} and
 * {@code get_lms_coefficient}; diffusers integrates with {@code scipy.integrate.quad}, here the
 * cubic integrand is integrated exactly by 4-point Gauss–Legendre (exact to degree 7).
 */
public final class LmsDiscreteScheduler extends SigmaScheduler {
    private static final int ORDER = 4;
    private static final double[] GL_NODES = {-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526};
    private static final double[] GL_WEIGHTS = {0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538};

    /** The last ≤ 4 derivatives, oldest first. */
    private final List<Tensor> derivatives = new ArrayList<>();
    private int nextStep;

    LmsDiscreteScheduler(SchedulerConfig config) {
        super(config);
    }

    @Override
    public void setTimesteps(int steps) {
        super.setTimesteps(steps);
        derivatives.forEach(Timesteps::drop);
        derivatives.clear();
        nextStep = 0;
    }

    @Override
    public void close() {
        derivatives.forEach(Timesteps::drop);
        derivatives.clear();
    }

    @Override
    public Tensor step(Tensor modelOutput, int stepIndex, Tensor sample, StepNoise noiseOrNull) {
        if (stepIndex != nextStep) {
            throw new IllegalStateException("LMS keeps a history: expected step " + nextStep + ", got " + stepIndex);
        }
        float sigma = schedule.sigma(stepIndex);
        int order = Math.min(stepIndex + 1, ORDER);
        try (Scope s = Scope.open()) {
            Tensor x0 = schedule.predictOriginal(modelOutput, sample, sigma);
            Tensor derivative = sample.sub(x0).div(f(sigma));
            derivatives.add(Timesteps.keep(s, derivative));
            if (derivatives.size() > ORDER) Timesteps.drop(derivatives.remove(0));
            // diffusers: sample + sum(coeff * d for coeff, d in zip(coeffs, reversed(derivatives))).
            Tensor sum = null;
            for (int j = 0; j < order; j++) {
                Tensor term = derivatives.get(derivatives.size() - 1 - j).mul(new Scalar(coefficient(order, stepIndex, j)));
                sum = sum == null ? term : sum.add(term);
            }
            nextStep++;
            return s.handUp(sample.add(sum));
        }
    }

    /** diffusers {@code get_lms_coefficient(order, t, current_order)}: ∫ ℓ_current over [σ_t, σ_{t+1}]. */
    private double coefficient(int order, int t, int current) {
        double a = schedule.sigma(t), b = schedule.nextSigma(t);
        double half = (b - a) / 2, mid = (a + b) / 2, integral = 0;
        for (int q = 0; q < GL_NODES.length; q++) {
            double tau = mid + half * GL_NODES[q];
            double prod = 1.0;
            for (int k = 0; k < order; k++) {
                if (k == current) continue;
                prod *= (tau - schedule.sigma(t - k)) / (schedule.sigma(t - current) - schedule.sigma(t - k));
            }
            integral += GL_WEIGHTS[q] * prod;
        }
        return integral * half;
    }
}

package org.evallearn.diffusion.scheduler;

import static org.evallearn.diffusion.scheduler.Timesteps.f;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Scope;

/**
 * Euler's method on the probability-flow ODE dx/dσ = (x − x̂₀)/σ: Karras et al. 2022,
 * "Elucidating the Design Space of Diffusion-Based Generative Models", Algorithm 2 without the
 * second-order correction and with no churn (γ = 0). Follows diffusers v0.21.4
 * {@code schedulers/scheduling_euler_discrete.py}, {@code EulerDiscreteScheduler.step}.
 *
 * <p>diffusers draws a noise tensor every step even though it is multiplied by nothing when
 * {@code s_churn} = 0; it is not drawn here, which only matters to code that reuses the same
 * generator afterwards.
 */
public final class EulerDiscreteScheduler extends SigmaScheduler {

    EulerDiscreteScheduler(SchedulerConfig config) {
        super(config);
    }

    @Override
    public Tensor step(Tensor modelOutput, int stepIndex, Tensor sample, StepNoise noiseOrNull) {
        float sigma = schedule.sigma(stepIndex);
        try (Scope s = Scope.open()) {
            Tensor x0 = schedule.predictOriginal(modelOutput, sample, sigma);
            Tensor derivative = sample.sub(x0).div(f(sigma));
            float dt = schedule.nextSigma(stepIndex) - sigma;
            return s.handUp(sample.add(derivative.mul(f(dt))));
        }
    }
}

package org.evallearn.diffusion.scheduler;

import static org.evallearn.diffusion.scheduler.Timesteps.f;
import static org.evallearn.diffusion.scheduler.Timesteps.sqrt;

import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Scope;

/**
 * Ancestral Euler sampling (k-diffusion {@code sample_euler_ancestral}, after Ho et al. 2020's
 * ancestral sampler): an Euler step to σ_down, then fresh noise of scale σ_up, with
 * σ_up = √(σ_to²(σ_from² − σ_to²)/σ_from²) and σ_down = √(σ_to² − σ_up²). Follows diffusers
 * v0.21.4 {@code schedulers/scheduling_euler_ancestral_discrete.py},
 * {@code EulerAncestralDiscreteScheduler.step}.
 *
 * <p>The noise is one {@code torch.randn(shape, generator)} of the model output's shape and dtype
 * per step, on the CPU generator given (diffusers' {@code randn_tensor} on CPU), so a seeded
 * generator reproduces diffusers' samples.
 */
public final class EulerAncestralDiscreteScheduler extends SigmaScheduler {

    EulerAncestralDiscreteScheduler(SchedulerConfig config) {
        super(config);
    }

    @Override
    public Tensor step(Tensor modelOutput, int stepIndex, Tensor sample, StepNoise noiseOrNull) {
        float from = schedule.sigma(stepIndex);
        float to = schedule.nextSigma(stepIndex);
        float up = sqrt(to * to * (from * from - to * to) / (from * from));
        float down = sqrt(to * to - up * up);
        try (Scope s = Scope.open()) {
            Tensor x0 = schedule.predictOriginal(modelOutput, sample, from);
            Tensor derivative = sample.sub(x0).div(f(from));
            Tensor prev = sample.add(derivative.mul(f(down - from)));
            if (noiseOrNull == null) throw new IllegalArgumentException("Euler ancestral sampling needs a noise source");
            Tensor noise = noiseOrNull.like(modelOutput);
            return s.handUp(prev.add(noise.mul(f(up))));
        }
    }
}

package org.evallearn.diffusion.scheduler;

import static org.evallearn.diffusion.scheduler.Timesteps.f;
import static org.evallearn.diffusion.scheduler.Timesteps.sqrt;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Scope;

/**
 * DDIM with η = 0, the deterministic sampler of Song et al. 2021, "Denoising Diffusion Implicit
 * Models", eq. 12 (σ_t = 0): x_{t−1} = √ᾱ_{t−1}·x̂₀ + √(1 − ᾱ_{t−1})·ε̂, with
 * x̂₀ = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t. Follows diffusers v0.21.4
 * {@code schedulers/scheduling_ddim.py}, {@code DDIMScheduler.set_timesteps} and {@code step}.
 */
public final class DdimScheduler implements Scheduler {
    private final SchedulerConfig config;
    private final float[] alphasCumprod;
    private final float finalAlphaCumprod;
    private double[] timesteps;
    private int steps;

    DdimScheduler(SchedulerConfig config) {
        this.config = config;
        this.alphasCumprod = TrainSchedule.alphasCumprod(config);
        this.finalAlphaCumprod = config.setAlphaToOne() ? 1f : alphasCumprod[0];
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    @Override
    public void setTimesteps(int steps) {
        Timesteps.checkSteps(config, steps);
        this.steps = steps;
        this.timesteps = integerTimesteps(config, steps);
    }

    /** DDIM's and PNDM's grid before PNDM's repetition, descending. */
    static double[] integerTimesteps(SchedulerConfig c, int steps) {
        int n = c.numTrainTimesteps();
        double[] t;
        switch (c.timestepSpacing()) {
            case LINSPACE -> {
                t = Timesteps.reversed(Timesteps.linspace(0, n - 1, steps));
                for (int i = 0; i < t.length; i++) t[i] = Math.rint(t[i]);
            }
            case LEADING -> {
                int ratio = n / steps;
                t = new double[steps];
                for (int i = 0; i < steps; i++) t[i] = (double) (steps - 1 - i) * ratio + c.stepsOffset();
            }
            case TRAILING -> {
                t = Timesteps.arange(n, 0, -((double) n / steps));
                for (int i = 0; i < t.length; i++) t[i] = Math.rint(t[i]) - 1;
            }
            default -> throw new AssertionError(c.timestepSpacing());
        }
        return t;
    }

    @Override
    public double[] timesteps() {
        Timesteps.checkIndex(timesteps, 0);
        return timesteps.clone();
    }

    @Override
    public Tensor step(Tensor modelOutput, int stepIndex, Tensor sample, StepNoise noiseOrNull) {
        Timesteps.checkIndex(timesteps, stepIndex);
        int t = (int) timesteps[stepIndex];
        // diffusers steps back by the leading ratio whatever the spacing.
        int prev = t - config.numTrainTimesteps() / steps;
        float a = alphasCumprod[t];
        float aPrev = prev >= 0 ? alphasCumprod[prev] : finalAlphaCumprod;
        float b = 1f - a;
        try (Scope s = Scope.open()) {
            Tensor x0, eps;
            switch (config.predictionType()) {
                case EPSILON -> {
                    x0 = sample.sub(modelOutput.mul(f(sqrt(b)))).div(f(sqrt(a)));
                    eps = modelOutput;
                }
                case SAMPLE -> {
                    x0 = modelOutput;
                    eps = sample.sub(x0.mul(f(sqrt(a)))).div(f(sqrt(b)));
                }
                case V_PREDICTION -> {
                    x0 = sample.mul(f(sqrt(a))).sub(modelOutput.mul(f(sqrt(b))));
                    eps = modelOutput.mul(f(sqrt(a))).add(sample.mul(f(sqrt(b))));
                }
                default -> throw new AssertionError(config.predictionType());
            }
            if (config.clipSample()) {
                double r = config.clipSampleRange();
                x0 = x0.clamp(new ScalarOptional(new Scalar(-r)), new ScalarOptional(new Scalar(r)));
            }
            // η = 0, so σ_t = 0 and no noise is added.
            Tensor direction = eps.mul(f(sqrt(1f - aPrev)));
            return s.handUp(x0.mul(f(sqrt(aPrev))).add(direction));
        }
    }
}

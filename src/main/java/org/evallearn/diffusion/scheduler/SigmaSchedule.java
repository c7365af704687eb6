package org.evallearn.diffusion.scheduler;

import static org.evallearn.diffusion.scheduler.Timesteps.f;
import static org.evallearn.diffusion.scheduler.Timesteps.sqrt;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.diffusion.scheduler.SchedulerConfig.Spacing;

/**
 * The σ grid shared by the k-diffusion style schedulers (Euler, Euler ancestral, LMS): Karras et
 * al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models", x = x₀ + σ·ε with
 * σ_t = √((1 − ᾱ_t)/ᾱ_t). Follows diffusers v0.21.4 {@code EulerDiscreteScheduler.set_timesteps},
 * {@code init_noise_sigma} and {@code scale_model_input} (identical in the other two):
 * float32 timesteps, train σ in float32 torch, {@code np.interp} in float64, stored as float32.
 */
final class SigmaSchedule {
    private final SchedulerConfig config;
    /** σ per train timestep, ascending in t; float32 as diffusers computes it from ᾱ. */
    private final float[] trainSigmas;
    private double[] timesteps;
    /** σ per step plus a final 0. */
    private float[] sigmas;

    SigmaSchedule(SchedulerConfig config) {
        this.config = config;
        float[] ac = TrainSchedule.alphasCumprod(config);
        trainSigmas = new float[ac.length];
        for (int i = 0; i < ac.length; i++) trainSigmas[i] = sqrt((1f - ac[i]) / ac[i]);
    }

    void set(int steps) {
        Timesteps.checkSteps(config, steps);
        int n = config.numTrainTimesteps();
        double[] t;
        switch (config.timestepSpacing()) {
            case LINSPACE -> t = Timesteps.reversed(Timesteps.linspace(0, n - 1, steps));
            case LEADING -> {
                int ratio = n / steps;
                t = new double[steps];
                for (int i = 0; i < steps; i++) t[i] = (double) (steps - 1 - i) * ratio;
            }
            case TRAILING -> {
                t = Timesteps.arange(n, 0, -((double) n / steps));
                for (int i = 0; i < t.length; i++) t[i] = Math.rint(t[i]);
            }
            default -> throw new AssertionError(config.timestepSpacing());
        }
        // .astype(np.float32), then the offset (leading) or −1 (trailing) in float32.
        for (int i = 0; i < t.length; i++) {
            float v = (float) t[i];
            if (config.timestepSpacing() == Spacing.LEADING) v += config.stepsOffset();
            if (config.timestepSpacing() == Spacing.TRAILING) v -= 1f;
            t[i] = v;
        }
        float[] s = new float[t.length + 1];
        for (int i = 0; i < t.length; i++) s[i] = (float) interp(t[i]);
        this.timesteps = t;
        this.sigmas = s;
    }

    /** {@code np.interp(x, arange(len(σ)), σ)} in float64, as numpy computes it. */
    private double interp(double x) {
        int last = trainSigmas.length - 1;
        if (x <= 0) return trainSigmas[0];
        if (x >= last) return trainSigmas[last];
        int j = (int) Math.floor(x);
        if (x == j) return trainSigmas[j];
        double slope = (double) trainSigmas[j + 1] - trainSigmas[j];
        return slope * (x - j) + trainSigmas[j];
    }

    double[] timesteps() {
        Timesteps.checkIndex(timesteps, 0);
        return timesteps.clone();
    }

    float sigma(int stepIndex) {
        Timesteps.checkIndex(timesteps, stepIndex);
        return sigmas[stepIndex];
    }

    /** σ after step {@code stepIndex} (0 after the last). */
    float nextSigma(int stepIndex) {
        Timesteps.checkIndex(timesteps, stepIndex);
        return sigmas[stepIndex + 1];
    }

    int length() {
        return timesteps.length;
    }

    /** diffusers: σ_max for linspace/trailing spacing, √(σ_max² + 1) for leading. */
    double initNoiseSigma() {
        if (sigmas == null) throw new IllegalStateException("setTimesteps must be called before sampling");
        float max = 0f;
        for (float s : sigmas) max = Math.max(max, s);
        return config.timestepSpacing() == Spacing.LEADING ? sqrt(max * max + 1f) : max;
    }

    /** Karras et al. c_in = 1/√(σ² + 1): the model sees unit-variance input. */
    Tensor scale(Tensor sample, int stepIndex) {
        float sigma = sigma(stepIndex);
        return sample.div(f(sqrt(sigma * sigma + 1f)));
    }

    /** x̂₀ from the model output, per prediction type (diffusers' {@code pred_original_sample}). */
    Tensor predictOriginal(Tensor modelOutput, Tensor sample, float sigma) {
        return switch (config.predictionType()) {
            case EPSILON -> sample.sub(modelOutput.mul(f(sigma)));
            case SAMPLE -> modelOutput;
            case V_PREDICTION -> modelOutput.mul(f(-sigma / sqrt(sigma * sigma + 1f)))
                    .add(sample.div(f(sigma * sigma + 1f)));
        };
    }
}

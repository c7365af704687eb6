package org.evallearn.diffusion.scheduler;

import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.diffusion.scheduler.SchedulerConfig.Kind;
import org.evallearn.tensor.ConfigFile;

/**
 * A diffusers v0.21.4 sampling scheduler: the timesteps of an inference run and the latent
 * update per step. Coefficients are host floats following diffusers' float32 chain; tensors are
 * touched only for the latent update.
 *
 * <p>Use: {@link #setTimesteps}, then for {@code i = 0 .. timesteps().length-1}: feed
 * {@code scaleModelInput(latents, i)} and {@code timesteps()[i]} to the model, then
 * {@code latents = step(noisePred, i, latents, noise)}. Multistep schedulers (PNDM, LMS,
 * DPM-Solver++) keep history, so their steps must come in order; {@link #setTimesteps} resets it.
 * The returned tensors belong to the caller's {@link org.evallearn.tensor.Scope}; the history is
 * the scheduler's own, freed by {@link #close}.
 */
public sealed interface Scheduler extends AutoCloseable
        permits DdimScheduler, PndmScheduler, DpmSolverMultistepScheduler, SigmaScheduler {

    /** Frees the history a multistep scheduler keeps between steps; the others hold no native memory. */
    @Override
    default void close() {}

    SchedulerConfig config();

    /** diffusers {@code set_timesteps(num_inference_steps)}; resets any multistep history. */
    void setTimesteps(int steps);

    /**
     * The timesteps to run, as the model sees them. Integers for DDIM, PNDM and DPM-Solver++
     * (diffusers: int64); float32 values for Euler, Euler ancestral and LMS, which are fractional
     * with linspace spacing (908.1818...). PNDM repeats one timestep, so its length is steps + 1.
     */
    double[] timesteps();

    /**
     * The standard deviation of the initial noise: latents = randn · initNoiseSigma. 1 for the
     * alpha-parameterised schedulers (DDIM, PNDM, DPM-Solver++); the sigma schedulers override it.
     */
    default double initNoiseSigma() {
        return 1.0;
    }

    /**
     * diffusers {@code scale_model_input}: the model input at step {@code stepIndex}. The identity
     * except for the sigma schedulers, which divide by sqrt(sigma² + 1).
     */
    default Tensor scaleModelInput(Tensor sample, int stepIndex) {
        return sample;
    }

    /**
     * diffusers {@code step(...).prev_sample}: the sample at the next timestep.
     *
     * @param noiseOrNull where ancestral sampling draws its noise; the others ignore it
     */
    Tensor step(Tensor modelOutput, int stepIndex, Tensor sample, StepNoise noiseOrNull);

    /** Builds the scheduler a diffusers {@code scheduler_config.json} names in {@code _class_name}. */
    static Scheduler fromConfig(ConfigFile c) {
        String cls = c.string("_class_name");
        for (Kind k : Kind.values()) if (k.className.equals(cls)) return create(SchedulerConfig.parse(c, k));
        throw c.error("_class_name", "one of " + Arrays.stream(Kind.values()).map(k -> k.className).toList());
    }

    /**
     * The scheduler with the user-facing {@code name} (see {@link #names()}), configured from
     * another scheduler's config as diffusers' {@code from_config} does: the keys the named
     * class accepts carry over, the rest are ignored, absent keys take that class's defaults.
     */
    static Scheduler named(String name, ConfigFile base) {
        for (Kind k : Kind.values()) if (k.userName.equals(name)) return create(SchedulerConfig.parse(base, k));
        throw new IllegalArgumentException("unknown scheduler '" + name + "' (known: " + names() + ")");
    }

    static List<String> names() {
        return Arrays.stream(Kind.values()).map(k -> k.userName).toList();
    }

    static Scheduler create(SchedulerConfig c) {
        return switch (c.kind()) {
            case DDIM -> new DdimScheduler(c);
            case PNDM -> new PndmScheduler(c);
            case EULER -> new EulerDiscreteScheduler(c);
            case EULER_ANCESTRAL -> new EulerAncestralDiscreteScheduler(c);
            case LMS -> new LmsDiscreteScheduler(c);
            case DPMPP_2M -> new DpmSolverMultistepScheduler(c);
        };
    }
}

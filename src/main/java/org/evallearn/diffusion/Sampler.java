package org.evallearn.diffusion;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.diffusion.scheduler.Scheduler;
import org.evallearn.diffusion.scheduler.StepNoise;
import org.evallearn.tensor.Scope;

/**
 * The classifier-free-guided denoising loop of diffusers' {@code StableDiffusionPipeline.__call__}
 * (v0.21.4), written out in one method: latents = noise · initNoiseSigma; per step
 * {@code cat([x, x])} → scale_model_input → model(…, t, {@code cat([uncond, cond])}) → chunk →
 * {@code uncond + g·(cond − uncond)} → scheduler step.
 */
public final class Sampler {
    /** The noise predictor, e.g. the UNet, on a [2B, …] batch at one timestep. */
    @FunctionalInterface
    public interface Denoiser {
        /**
         * @param input [2B, C, h, w], already scaled by the scheduler
         * @param timestep fractional for the σ-based schedulers, so a double
         * @param context [2B, tokens, dim] = cat([uncond, cond])
         */
        Tensor predict(Tensor input, double timestep, Tensor context);
    }

    /** Sees the latents before the first step (index 0) and after each model call (index i+1). */
    @FunctionalInterface
    public interface Trace {
        void latents(int index, Tensor latents);
    }

    private final Denoiser model;

    public Sampler(Denoiser model) {
        this.model = model;
    }

    /** The UNet as a denoiser: the timestep broadcast to the batch in fp32, as diffusers' time_proj sees it. */
    public static Sampler of(UNet2DConditionModel unet) {
        return new Sampler((input, t, context) -> {
            try (Scope s = Scope.open()) {
                Tensor ts = torch.full(new long[] {input.size(0)}, new Scalar(t),
                        new org.bytedeco.pytorch.TensorOptions()
                                .dtype(new org.bytedeco.pytorch.ScalarTypeOptional(torch.ScalarType.Float))
                                .device(new org.bytedeco.pytorch.DeviceOptional(input.device())));
                return s.handUp(unet.forward(input, ts, context));
            }
        });
    }

    /**
     * @param noise initial noise (B, C, h, w), not yet scaled by the scheduler's initial sigma
     * @param uncond (B, 77, D) embeddings of the negative or empty prompt
     * @param cond (B, 77, D) embeddings of the prompts
     * @param scheduler with {@code setTimesteps} already called; every one of its timesteps is run
     * @param stepNoise where ancestral schedulers draw their noise (null for the others)
     * @param trace null, or an observer of the latents
     * @return final latents, owned by the caller
     */
    public Tensor run(Tensor noise, Tensor uncond, Tensor cond, Scheduler scheduler, double guidanceScale,
            StepNoise stepNoise, Trace trace) {
        return run(noise, uncond, cond, scheduler, guidanceScale, stepNoise, trace, scheduler.timesteps().length);
    }

    /**
     * As {@link #run(Tensor, Tensor, Tensor, Scheduler, double, StepNoise, Trace)}, stopping after
     * the first {@code steps} timesteps: the partly denoised latents ESD trains on.
     */
    public Tensor run(Tensor noise, Tensor uncond, Tensor cond, Scheduler scheduler, double guidanceScale,
            StepNoise stepNoise, Trace trace, int steps) {
        double[] timesteps = scheduler.timesteps();
        if (steps < 0 || steps > timesteps.length) {
            throw new IllegalArgumentException("steps " + steps + " is not in [0, " + timesteps.length + "]");
        }
        Tensor latents;
        Tensor context;
        try (Scope s = Scope.open()) {
            latents = s.escape(noise.mul(new Scalar(scheduler.initNoiseSigma())));
            context = s.escape(torch.cat(new TensorVector(uncond, cond), 0));
        }
        try {
            if (trace != null) trace.latents(0, latents);
            for (int i = 0; i < steps; i++) {
                try (Scope s = Scope.open()) {
                    Tensor input = scheduler.scaleModelInput(torch.cat(new TensorVector(latents, latents), 0), i);
                    TensorVector eps = model.predict(input, timesteps[i], context).chunk(2);
                    Tensor u = eps.get(0), c = eps.get(1);
                    Tensor guided = u.add(c.sub(u).mul(new Scalar(guidanceScale)));
                    Tensor next = s.escape(scheduler.step(guided, i, latents, stepNoise));
                    latents.close();
                    latents = next;
                }
                if (trace != null) trace.latents(i + 1, latents);
            }
            return latents;
        } catch (RuntimeException e) {
            latents.close();
            throw e;
        } finally {
            context.close();
        }
    }
}

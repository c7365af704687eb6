package org.evallearn.diffusion;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
 * {@code uncond + g·(cond − uncond)} → scheduler step. A {@link Guidance} may add branches and
 * combine them otherwise (Safe Latent Diffusion).
 */
public final class Sampler {
    /** The noise predictor, e.g. the UNet, on a [nB, …] batch (n guidance branches) at one timestep. */
    @FunctionalInterface
    public interface Denoiser {
        /**
         * @param input [nB, C, h, w], already scaled by the scheduler
         * @param timestep fractional for the σ-based schedulers, so a double
         * @param context [nB, tokens, dim] = cat([uncond, cond, extra…])
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
     * Classifier-free guidance over every timestep of {@code scheduler}.
     *
     * @param noise initial noise (B, C, h, w), not yet scaled by the scheduler's initial sigma
     * @param uncond (B, 77, D) embeddings of the negative or empty prompt
     * @param cond (B, 77, D) embeddings of the prompts
     * @param scheduler with {@code setTimesteps} already called; every one of its timesteps is run
     * @param stepNoise where ancestral schedulers draw their noise (null for the others)
     * @param trace null, or an observer of the latents
     * @return final latents, handed up to the caller's scope
     */
    public Tensor run(Tensor noise, Tensor uncond, Tensor cond, Scheduler scheduler, double guidanceScale,
            StepNoise stepNoise, Trace trace) {
        return run(noise, List.of(uncond, cond), scheduler, Guidance.classifierFree(guidanceScale), stepNoise, trace,
                scheduler.timesteps().length);
    }

    /**
     * The loop itself: per step {@code cat([x] · branches)} → scale_model_input → model(…, t,
     * {@code cat(contexts)}) → chunk → {@code guidance.combine} → scheduler step, for the first
     * {@code steps} timesteps (all of them for images; fewer for ESD's partly denoised latents).
     *
     * @param contexts (B, 77, D) embeddings per branch: uncond, cond, then the guidance's extra ones
     */
    public Tensor run(Tensor noise, List<Tensor> contexts, Scheduler scheduler, Guidance guidance, StepNoise stepNoise,
            Trace trace, int steps) {
        double[] timesteps = scheduler.timesteps();
        if (steps < 0 || steps > timesteps.length) {
            throw new IllegalArgumentException("steps " + steps + " is not in [0, " + timesteps.length + "]");
        }
        int branches = contexts.size();
        if (branches != 2 + guidance.extraPrompts().size()) {
            throw new IllegalArgumentException(branches + " contexts for a guidance of " + (2 + guidance.extraPrompts().size()) + " branches");
        }
        Tensor latents;
        Tensor context;
        try (Scope s = Scope.open()) {
            latents = s.escape(noise.mul(new Scalar(scheduler.initNoiseSigma())));
            context = s.escape(torch.cat(new TensorVector(contexts.toArray(Tensor[]::new)), 0));
        }
        try {
            if (trace != null) trace.latents(0, latents);
            for (int i = 0; i < steps; i++) {
                try (Scope s = Scope.open()) {
                    Tensor[] copies = new Tensor[branches];
                    Arrays.fill(copies, latents);
                    Tensor input = scheduler.scaleModelInput(torch.cat(new TensorVector(copies), 0), i);
                    Tensor prediction = model.predict(input, timesteps[i], context);
                    long b = latents.size(0);
                    List<Tensor> eps = new ArrayList<>(branches);
                    for (int k = 0; k < branches; k++) eps.add(prediction.narrow(0, k * b, b));
                    Tensor guided = guidance.combine(eps, i);
                    Tensor next = s.escape(scheduler.step(guided, i, latents, stepNoise));
                    latents.close();
                    latents = next;
                }
                if (trace != null) trace.latents(i + 1, latents);
            }
            // The loop owned its latents; the result goes to the caller's scope like any other.
            try (Scope s = Scope.open()) {
                return s.handUp(latents.alias());
            } finally {
                latents.close();
            }
        } catch (RuntimeException e) {
            latents.close();
            throw e;
        } finally {
            context.close();
        }
    }
}

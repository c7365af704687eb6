package org.evallearn.diffusion;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.diffusion.scheduler.Scheduler;
import org.evallearn.tensor.Scope;

/**
 * The classifier-free-guided denoising loop of diffusers' {@code StableDiffusionPipeline.__call__}
 * (v0.21.4), written out in one method: per step {@code cat([x, x])} → scale → UNet on
 * {@code cat([uncond, cond])} → chunk → {@code uncond + g·(cond − uncond)} → scheduler step.
 */
public final class Sampler {
    /** Sees the latents before the first step (index 0) and after each step (index i+1). */
    @FunctionalInterface
    public interface Trace {
        void latents(int index, Tensor latents);
    }

    private final UNet2DConditionModel unet;

    public Sampler(UNet2DConditionModel unet) {
        this.unet = unet;
    }

    /**
     * @param noise initial noise (B, C, h, w), not yet scaled by the scheduler's initial sigma
     * @param uncond (B, 77, D) embeddings of the negative or empty prompt
     * @param cond (B, 77, D) embeddings of the prompts
     * @param scheduler with {@code setTimesteps} already called
     * @param stepNoise the CPU generator ancestral schedulers draw from
     * @return final latents, owned by the caller
     */
    public Tensor run(Tensor noise, Tensor uncond, Tensor cond, Scheduler scheduler, double guidanceScale,
            Generator stepNoise, Trace trace) {
        int batch = (int) noise.size(0);
        double[] timesteps = scheduler.timesteps();
        Tensor latents;
        Tensor text;
        try (Scope s = Scope.open()) {
            latents = s.escape(noise.mul(new Scalar(scheduler.initNoiseSigma())));
            text = s.escape(torch.cat(new TensorVector(uncond, cond), 0));
        }
        try {
            if (trace != null) trace.latents(0, latents);
            for (int i = 0; i < timesteps.length; i++) {
                try (Scope s = Scope.open()) {
                    Tensor input = scheduler.scaleModelInput(torch.cat(new TensorVector(latents, latents), 0), i);
                    Tensor t = torch.full(new long[] {2L * batch}, new Scalar(timesteps[i]),
                            new org.bytedeco.pytorch.TensorOptions().dtype(new org.bytedeco.pytorch.ScalarTypeOptional(torch.ScalarType.Float)));
                    TensorVector eps = unet.forward(input, t.to(latents.device(), torch.ScalarType.Float), text).chunk(2);
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
            text.close();
        }
    }
}

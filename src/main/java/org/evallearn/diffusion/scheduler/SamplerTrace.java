package org.evallearn.diffusion.scheduler;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.diffusion.Noise;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;

/**
 * The classifier-free-guided sampling loop of diffusers' {@code StableDiffusionPipeline.__call__}
 * (v0.21.4), recording the latents, as the golden {@code sampler-<name>} fixtures were made:
 * latents = init_noise · initNoiseSigma; per step: cat([latents, latents]) → scale_model_input →
 * model(…, t, cat([uncond, cond])) → chunk → uncond + g·(cond − uncond) → step.
 */
public final class SamplerTrace {
    private SamplerTrace() {}

    /** The denoiser, e.g. the UNet: noise prediction for a [2B, …] batch at one timestep. */
    @FunctionalInterface
    public interface Denoiser {
        /**
         * @param latentModelInput [2B, C, H, W], already scaled by the scheduler
         * @param timestep the scheduler's timestep, fractional for the σ-based schedulers
         * @param encoderHiddenStates [2B, tokens, dim] = cat([uncond, cond])
         */
        Tensor predict(Tensor latentModelInput, double timestep, Tensor encoderHiddenStates);
    }

    /**
     * Sets {@code steps} timesteps on {@code scheduler} and runs the loop.
     *
     * @return the trace [timesteps + 1, B, C, H, W]: the latents before the first step, then after each
     */
    public static Tensor run(Scheduler scheduler, int steps, Tensor initNoise, Tensor uncond, Tensor cond,
            double guidanceScale, Denoiser model, Generator generatorOrNull) {
        scheduler.setTimesteps(steps);
        double[] timesteps = scheduler.timesteps();
        try (Scope s = Scope.open()) {
            Tensor context = torch.cat(new TensorVector(uncond, cond));
            Tensor latents = initNoise.mul(new Scalar(scheduler.initNoiseSigma()));
            List<Tensor> trace = new ArrayList<>();
            trace.add(latents);
            for (int i = 0; i < timesteps.length; i++) {
                latents = step(scheduler, i, timesteps[i], latents, context, guidanceScale, model, generatorOrNull);
                trace.add(latents);
            }
            return s.handUp(torch.stack(new TensorVector(trace.toArray(Tensor[]::new))));
        }
    }

    private static Tensor step(Scheduler scheduler, int i, double t, Tensor latents, Tensor context,
            double guidanceScale, Denoiser model, Generator generator) {
        try (Scope s = Scope.open()) {
            Tensor input = scheduler.scaleModelInput(torch.cat(new TensorVector(latents, latents)), i);
            Tensor[] pred = model.predict(input, t, context).chunk(2).get();
            Tensor guided = pred[0].add(pred[1].sub(pred[0]).mul(new Scalar(guidanceScale)));
            return s.handUp(scheduler.step(guided, i, latents, generator));
        }
    }

    /**
     * Runs the loop of a golden {@code sampler-<name>} folder: the scheduler from its
     * {@code config.json}; {@code init_noise}, {@code uncond}, {@code cond}, {@code steps},
     * {@code guidance_scale} and {@code noise_seed} (the step-noise generator) from
     * {@code io.safetensors}. Compare the result with the file's {@code trace}.
     */
    public static Tensor runFixture(Path folder, Denoiser model) {
        Scheduler scheduler = Scheduler.fromConfig(ConfigFile.read(folder.resolve("config.json")));
        try (Scope s = Scope.open(); SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"))) {
            Generator generator = Noise.generator(io.get("noise_seed").item_long());
            Tensor trace = run(scheduler, (int) io.get("steps").item_long(), io.get("init_noise"), io.get("uncond"),
                    io.get("cond"), io.get("guidance_scale").item_double(), model, generator);
            // stack copies, so the trace outlives the mapped file and its views.
            return s.handUp(trace);
        }
    }
}

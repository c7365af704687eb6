package org.evallearn.golden;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.diffusion.AutoencoderKL;
import org.evallearn.diffusion.Noise;
import org.evallearn.diffusion.Sampler;
import org.evallearn.diffusion.UNet2DConditionModel;
import org.evallearn.diffusion.scheduler.Scheduler;
import org.evallearn.diffusion.scheduler.StepNoise;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;

/**
 * {@code sampler-<name>/}: one whole guided sampling loop with the weights of the sibling
 * {@code unet-tiny/} and {@code vae-tiny/} folders; every latent of the trace, the final latents and
 * the decoded image are compared.
 */
final class SamplerFixture implements Fixture {
    @Override
    public boolean accepts(String folderName) {
        return folderName.startsWith("sampler-");
    }

    @Override
    public List<Check> run(Path folder) {
        String name = folder.getFileName().toString();
        Path root = folder.getParent();
        Scheduler scheduler = Scheduler.fromConfig(ConfigFile.read(folder.resolve("config.json")));
        try (scheduler; // frees a multistep scheduler's history
                Scope s = Scope.open();
                SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"));
                UNet2DConditionModel unet = UNet2DConditionModel.load(root.resolve("unet-tiny"), null, Placement.CPU_F32);
                AutoencoderKL vae = AutoencoderKL.load(root.resolve("vae-tiny"), null, Placement.CPU_F32)) {
            scheduler.setTimesteps((int) io.get("steps").item_long());
            List<Check> checks = new ArrayList<>();
            Tensor expectedTimesteps = io.get("timesteps").to(torch.ScalarType.Double);
            Tensor actualTimesteps = Tensor.create(scheduler.timesteps());
            checks.add(Check.of(name, "timesteps", TensorCompare.exact(actualTimesteps, expectedTimesteps)));

            // Only ancestral sampling draws step noise; the seed is optional for the others.
            Generator stepNoise = Noise.generator(io.contains("noise_seed") ? io.get("noise_seed").item_long() : 0);
            List<Tensor> trace = new ArrayList<>();
            Tensor last;
            try {
                last = Sampler.of(unet).run(io.get("init_noise"), io.get("uncond"), io.get("cond"), scheduler,
                        io.get("guidance_scale").item_double(), StepNoise.of(stepNoise), (i, latents) -> trace.add(latents.clone()));
            } finally {
                stepNoise.close();
            }
            Tensor actualTrace = torch.stack(new TensorVector(trace.toArray(Tensor[]::new)));
            checks.add(Check.of(name, "trace", TensorCompare.compare(actualTrace, io.get("trace"), ATOL, RTOL)));
            checks.add(Check.of(name, "final_latents", TensorCompare.compare(last, io.get("final_latents"), ATOL, RTOL)));
            Tensor image = vae.decode(last.div(new Scalar(vae.scalingFactor())));
            checks.add(Check.of(name, "image", TensorCompare.compare(image, io.get("image"), ATOL, RTOL)));
            last.close();
            return checks;
        }
    }
}

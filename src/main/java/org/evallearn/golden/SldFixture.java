package org.evallearn.golden;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.diffusion.AutoencoderKL;
import org.evallearn.diffusion.Guidance;
import org.evallearn.diffusion.Sampler;
import org.evallearn.diffusion.UNet2DConditionModel;
import org.evallearn.diffusion.scheduler.Scheduler;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.evallearn.technique.SafeLatentDiffusion;

/**
 * {@code sld-<preset>/}: diffusers' {@code StableDiffusionPipelineSafe} with the sibling
 * {@code unet-tiny/} and {@code vae-tiny/} weights, the scheduler of {@code config.json} and the
 * SafetyConfig under its {@code sld} key; the output image {@code (decoded/2 + 0.5).clamp(0, 1)}
 * is compared.
 */
final class SldFixture implements Fixture {
    @Override
    public boolean accepts(String folderName) {
        return folderName.startsWith("sld-");
    }

    @Override
    public List<Check> run(Path folder) {
        String name = folder.getFileName().toString();
        Path root = folder.getParent();
        ConfigFile config = ConfigFile.read(folder.resolve("config.json"));
        ConfigFile sld = config.child("sld");
        SafeLatentDiffusion.Params params = new SafeLatentDiffusion.Params(sld.number("sld_guidance_scale"),
                sld.number("sld_warmup_steps"), sld.number("sld_threshold"), sld.number("sld_momentum_scale"),
                sld.number("sld_mom_beta"));
        Scheduler scheduler = Scheduler.fromConfig(config);
        try (scheduler; // frees a multistep scheduler's history
                Scope s = Scope.open();
                SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"));
                UNet2DConditionModel unet = UNet2DConditionModel.load(root.resolve("unet-tiny"), null, Placement.CPU_F32);
                AutoencoderKL vae = AutoencoderKL.load(root.resolve("vae-tiny"), null, Placement.CPU_F32)) {
            scheduler.setTimesteps((int) io.get("steps").item_long());
            double cfg = io.get("guidance_scale").item_double();
            Tensor latents;
            try (Guidance guidance = SafeLatentDiffusion.guidance(params, cfg, "the safety concept is given as embeddings")) {
                latents = Sampler.of(unet).run(io.get("init_noise"), List.of(io.get("uncond"), io.get("cond"), io.get("safety")),
                        scheduler, guidance, null, null, scheduler.timesteps().length);
            }
            Tensor image = vae.decode(latents.div(new Scalar(vae.scalingFactor()))).div(new Scalar(2)).add(new Scalar(0.5))
                    .clamp(new org.bytedeco.pytorch.ScalarOptional(new Scalar(0)), new org.bytedeco.pytorch.ScalarOptional(new Scalar(1)));
            latents.close();
            return List.of(Check.of(name, "image", TensorCompare.compare(image, io.get("image"), ATOL, RTOL)));
        }
    }
}

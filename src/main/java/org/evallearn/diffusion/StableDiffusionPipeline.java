package org.evallearn.diffusion;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.diffusion.scheduler.Scheduler;
import org.evallearn.image.ImageTensors;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * Text-to-image with classifier-free guidance, as diffusers' {@code StableDiffusionPipeline}
 * (v0.21.4 {@code __call__}) does it, from a diffusers folder: {@code model_index.json},
 * {@code tokenizer/}, {@code text_encoder/}, {@code unet/}, {@code vae/}, {@code scheduler/}.
 */
public final class StableDiffusionPipeline implements AutoCloseable {
    private final ClipTokenizer tokenizer;
    private final ClipTextModel textEncoder;
    private final UNet2DConditionModel unet;
    private final AutoencoderKL vae;
    private final ConfigFile schedulerConfig;
    private final Placement placement;

    public StableDiffusionPipeline(ClipTokenizer tokenizer, ClipTextModel textEncoder, UNet2DConditionModel unet,
            AutoencoderKL vae, ConfigFile schedulerConfig, Placement placement) {
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
        this.unet = unet;
        this.vae = vae;
        this.schedulerConfig = schedulerConfig;
        this.placement = placement;
    }

    /** Loads a diffusers folder; the {@code fp16} weight variant is used when the placement is fp16 and it exists. */
    public static StableDiffusionPipeline load(Path dir, Placement placement) {
        Path index = dir.resolve("model_index.json");
        if (!Files.isRegularFile(index)) {
            throw new ModelLoadException(dir + ": not a diffusers model folder (no model_index.json)");
        }
        ConfigFile modelIndex = ConfigFile.read(index);
        for (String part : new String[] {"tokenizer", "text_encoder", "unet", "vae", "scheduler"}) {
            if (!modelIndex.has(part)) throw modelIndex.error(part, "a [library, class] pair naming the " + part);
            if (!Files.isDirectory(dir.resolve(part))) throw new ModelLoadException(dir + ": folder '" + part + "' is missing");
        }
        String variant = placement.dtype() == org.evallearn.tensor.DType.F16 ? "fp16" : null;
        ClipTokenizer tokenizer = ClipTokenizer.load(dir.resolve("tokenizer"));
        ClipTextModel text = null;
        UNet2DConditionModel unet = null;
        try {
            text = ClipTextModel.load(dir.resolve("text_encoder"), variant, placement);
            unet = UNet2DConditionModel.load(dir.resolve("unet"), variant, placement);
            AutoencoderKL vae = AutoencoderKL.load(dir.resolve("vae"), variant, placement);
            ConfigFile scheduler = ConfigFile.read(dir.resolve("scheduler").resolve("scheduler_config.json"));
            Scheduler.fromConfig(scheduler); // validate now, not at the first image
            return new StableDiffusionPipeline(tokenizer, text, unet, vae, scheduler, placement);
        } catch (RuntimeException e) {
            if (text != null) text.close();
            if (unet != null) unet.close();
            throw e;
        }
    }

    public Placement placement() {
        return placement;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public UNet2DConditionModel unet() {
        return unet;
    }

    public AutoencoderKL vae() {
        return vae;
    }

    public ClipTextModel textEncoder() {
        return textEncoder;
    }

    /** Pixels per latent cell: 2^(levels−1) of the VAE (8 for SD). */
    public int vaeScaleFactor() {
        return 1 << (vae.config.blockOutChannels().size() - 1);
    }

    /** The default image side: UNet sample size × VAE scale factor (512 for SD 1.x). */
    public int defaultImageSize() {
        return unet.config.sampleSize() * vaeScaleFactor();
    }

    /** A fresh scheduler: the named one built from the model's scheduler config, or the model's own. */
    public Scheduler scheduler(String name) {
        return name == null ? Scheduler.fromConfig(schedulerConfig) : Scheduler.named(name, schedulerConfig);
    }

    /** Text embeddings (B, 77, D) as the UNet is fed them: the text encoder's last hidden state. */
    public Tensor encodePrompts(List<String> prompts) {
        try (Scope s = Scope.open()) {
            long[][] ids = tokenizer.sdInputIds(prompts);
            long[] flat = new long[ids.length * ids[0].length];
            for (int i = 0; i < ids.length; i++) System.arraycopy(ids[i], 0, flat, i * ids[i].length, ids[i].length);
            Tensor input = Tensor.create(flat, ids.length, ids[0].length).to(placement.torchDevice(), torch.ScalarType.Long);
            return s.handUp(textEncoder.forward(input).lastHiddenState());
        }
    }

    /** Generates the request's images; nothing is written to disk. */
    public List<RgbImage> generate(GenerationRequest request) {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor latents = sample(request);
            try {
                return decode(latents);
            } finally {
                latents.close();
            }
        }
    }

    /** Decodes final latents to 8-bit images: {@code vae.decode(latents / scaling_factor)}. */
    public List<RgbImage> decode(Tensor latents) {
        try (Scope s = Scope.open()) {
            Tensor decoded = vae.decode(latents.div(new Scalar(vae.scalingFactor())));
            return ImageTensors.fromDecoded(decoded);
        }
    }

    /** Final latents for the request (the caller closes them): encode prompts, seed noise per prompt, denoise. */
    public Tensor sample(GenerationRequest request) {
        int scale = vaeScaleFactor();
        if (request.height() % scale != 0 || request.width() % scale != 0) {
            throw new IllegalArgumentException("height and width must be multiples of " + scale + ", got "
                    + request.height() + "x" + request.width());
        }
        int batch = request.prompts().size();
        Scheduler scheduler = scheduler(request.scheduler());
        scheduler.setTimesteps(request.steps());
        Generator stepNoise = torch.make_generator_cpu(request.seeds()[0]);
        try (Scope s = Scope.open()) {
            List<String> negatives = request.negativePrompts() != null ? request.negativePrompts()
                    : java.util.Collections.nCopies(batch, "");
            long[] shape = {1, unet.config.inChannels(), request.height() / scale, request.width() / scale};
            TensorVector noise = new TensorVector();
            for (long seed : request.seeds()) noise.push_back(Noise.initialLatents(seed, shape));
            Tensor init = torch.cat(noise, 0).to(placement.torchDevice(), placement.dtype().scalarType);
            return Sampler.of(unet).run(init, encodePrompts(negatives), encodePrompts(request.prompts()), scheduler,
                    request.guidanceScale(), stepNoise, null);
        } finally {
            stepNoise.close();
        }
    }

    @Override
    public void close() {
        textEncoder.close();
        unet.close();
        vae.close();
    }
}

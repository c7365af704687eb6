package org.evallearn.diffusion;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipTextConfig;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.diffusion.checkpoint.CompVisCheckpoint;
import org.evallearn.diffusion.checkpoint.Sd1Configs;
import org.evallearn.diffusion.scheduler.Scheduler;
import org.evallearn.diffusion.scheduler.StepNoise;
import org.evallearn.image.ImageTensors;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.DType;
import org.evallearn.tensor.Finite;
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

    /**
     * Loads a diffusers folder, or a single-file CompVis checkpoint ({@code *.safetensors}, see
     * {@link #loadSingleFile}) when {@code model} is a file.
     *
     * @param tokenizer the CLIP tokenizer folder; only needed (and only used) for a single file
     */
    public static StableDiffusionPipeline load(Path model, Path tokenizer, Placement placement) {
        if (Files.isRegularFile(model)) {
            if (tokenizer == null) {
                throw new ModelLoadException(model + ": a single-file checkpoint holds no tokenizer; name the tokenizer"
                        + " folder of openai/clip-vit-large-patch14 (vocab.json, merges.txt) as well");
            }
            return loadSingleFile(model, tokenizer, placement);
        }
        return load(model, placement);
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
        String variant = placement.dtype() == DType.F16 ? "fp16" : null;
        ClipTokenizer tokenizer = ClipTokenizer.load(dir.resolve("tokenizer"));
        ConfigFile scheduler = ConfigFile.read(dir.resolve("scheduler").resolve("scheduler_config.json"));
        Scheduler.fromConfig(scheduler); // validate now, not at the first image
        List<AutoCloseable> loaded = new ArrayList<>();
        try {
            ClipTextModel text = track(loaded, ClipTextModel.load(dir.resolve("text_encoder"), variant, placement));
            UNet2DConditionModel unet = track(loaded, UNet2DConditionModel.load(dir.resolve("unet"), variant, placement));
            AutoencoderKL vae = track(loaded, AutoencoderKL.load(dir.resolve("vae"), variant, placement));
            return new StableDiffusionPipeline(tokenizer, text, unet, vae, scheduler, placement);
        } catch (RuntimeException e) {
            closeAll(loaded, e);
            throw e;
        }
    }

    /**
     * Loads a Stable Diffusion 1.x single-file checkpoint in the CompVis layout with SD 1.x's
     * configs (v1-inference.yaml, at the sizes the file's tensors show) and PNDM scheduler, as
     * diffusers' {@code from_single_file} does. The text encoder's config is the tokenizer
     * folder's {@code config.json} when it has one (diffusers reads openai/clip-vit-large-patch14's),
     * else CLIP ViT-L/14's text config.
     */
    public static StableDiffusionPipeline loadSingleFile(Path checkpoint, Path tokenizerDir, Placement placement) {
        CompVisCheckpoint file = CompVisCheckpoint.open(checkpoint);
        ClipTokenizer tokenizer = ClipTokenizer.load(tokenizerDir);
        ConfigFile unetConfig = new ConfigFile(checkpoint + " (SD 1.x UNet config)", file.unetConfig());
        ConfigFile vaeConfig = new ConfigFile(checkpoint + " (SD 1.x VAE config)", file.vaeConfig());
        ConfigFile scheduler = new ConfigFile(checkpoint + " (SD 1.x scheduler config)", Sd1Configs.scheduler());
        UNetConfig unetCfg = UNetConfig.from(unetConfig);
        AutoencoderKLConfig vaeCfg = AutoencoderKLConfig.from(vaeConfig);
        Path clipConfig = tokenizerDir.resolve("config.json");
        ClipTextConfig textCfg = Files.isRegularFile(clipConfig) ? ClipTextConfig.ofTextModel(ConfigFile.read(clipConfig))
                : ClipTextConfig.from(new ConfigFile(checkpoint + " (SD 1.x text encoder config)", Sd1Configs.textEncoder()));
        List<AutoCloseable> loaded = new ArrayList<>();
        try {
            ClipTextModel text = track(loaded, file.load(file.textEncoder(), placement, p -> ClipTextModel.bind(p, textCfg, false)));
            UNet2DConditionModel unet = track(loaded, file.load(file.unet(unetConfig), placement, p -> new UNet2DConditionModel(unetCfg, p)));
            AutoencoderKL vae = track(loaded, file.load(file.vae(vaeConfig), placement, p -> new AutoencoderKL(vaeCfg, p)));
            return new StableDiffusionPipeline(tokenizer, text, unet, vae, scheduler, placement);
        } catch (RuntimeException e) {
            closeAll(loaded, e);
            throw e;
        }
    }

    private static <T extends AutoCloseable> T track(List<AutoCloseable> loaded, T model) {
        loaded.add(model);
        return model;
    }

    private static void closeAll(List<AutoCloseable> loaded, RuntimeException cause) {
        for (AutoCloseable m : loaded) {
            try {
                m.close();
            } catch (Exception e) {
                cause.addSuppressed(e);
            }
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

    /** Generates the request's images with classifier-free guidance; nothing is written to disk. */
    public List<RgbImage> generate(GenerationRequest request) {
        try (Guidance cfg = Guidance.classifierFree(request.guidanceScale())) {
            return generate(request, cfg);
        }
    }

    /**
     * Generates the request's images with {@code guidance} (fresh for this call, closed by the caller).
     *
     * @throws NonFiniteImagesException when an image's latents or pixels are not finite, with the
     *     request's other images
     */
    public List<RgbImage> generate(GenerationRequest request, Guidance guidance) {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor latents = sample(request, guidance);
            try {
                return decodeFinite(latents);
            } finally {
                latents.close();
            }
        }
    }

    /**
     * Decodes each item whose final latents are finite; an item with NaN/Inf latents, or whose
     * decoded pixels are not finite, fails alone (checked once per image: one sum each).
     */
    private List<RgbImage> decodeFinite(Tensor latents) {
        int n = (int) latents.size(0);
        String cause = placement.dtype() == DType.F16 ? " (in fp16 most likely an overflow: fp32 avoids it)"
                : " (see the load warnings: weights that hold NaN or Inf make such images)";
        Map<Integer, String> failures = new TreeMap<>();
        boolean[] finite = Finite.perItem(latents);
        List<Integer> kept = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (finite[i]) kept.add(i);
            else failures.put(i, "the latents turned non-finite (NaN/Inf) during sampling" + cause);
        }
        RgbImage[] out = new RgbImage[n];
        if (!kept.isEmpty()) {
            try (Scope s = Scope.open()) {
                Tensor toDecode = kept.size() == n ? latents
                        : latents.index_select(0, Tensor.create(kept.stream().mapToLong(Integer::longValue).toArray(), kept.size())
                                .to(placement.torchDevice(), torch.ScalarType.Long));
                Tensor decoded = vae.decode(toDecode.div(new Scalar(vae.scalingFactor())));
                boolean[] pixelsFinite = Finite.perItem(decoded);
                List<RgbImage> images = ImageTensors.fromDecoded(decoded);
                for (int k = 0; k < kept.size(); k++) {
                    if (pixelsFinite[k]) out[kept.get(k)] = images.get(k);
                    else failures.put(kept.get(k), "the VAE decoded finite latents to non-finite pixels" + cause);
                }
            }
        }
        if (!failures.isEmpty()) throw new NonFiniteImagesException(failures, Arrays.asList(out));
        return List.of(out);
    }

    /** Decodes final latents to 8-bit images: {@code vae.decode(latents / scaling_factor)}. */
    public List<RgbImage> decode(Tensor latents) {
        try (Scope s = Scope.open()) {
            Tensor decoded = vae.decode(latents.div(new Scalar(vae.scalingFactor())));
            return ImageTensors.fromDecoded(decoded);
        }
    }

    /** Final latents for the request with classifier-free guidance, handed up to the caller's scope. */
    public Tensor sample(GenerationRequest request) {
        try (Guidance cfg = Guidance.classifierFree(request.guidanceScale())) {
            return sample(request, cfg);
        }
    }

    /**
     * Final latents for the request, handed up to the caller's scope: encode prompts (and the
     * guidance's extra branch texts), seed noise per prompt, denoise.
     */
    public Tensor sample(GenerationRequest request, Guidance guidance) {
        int scale = vaeScaleFactor();
        if (request.height() % scale != 0 || request.width() % scale != 0) {
            throw new IllegalArgumentException("height and width must be multiples of " + scale + ", got "
                    + request.height() + "x" + request.width());
        }
        int batch = request.prompts().size();
        Scheduler scheduler = scheduler(request.scheduler());
        scheduler.setTimesteps(request.steps());
        // One CPU generator per prompt, as diffusers with generator=[Generator().manual_seed(s), …]:
        // each draws its prompt's initial latents, then its step noise.
        List<Generator> generators = new ArrayList<>();
        try (Scope s = Scope.open()) {
            List<String> negatives = request.negativePrompts() != null ? request.negativePrompts()
                    : Collections.nCopies(batch, "");
            long[] shape = {1, unet.config.inChannels(), request.height() / scale, request.width() / scale};
            TensorVector noise = new TensorVector();
            for (long seed : request.seeds()) {
                Generator g = Noise.generator(seed);
                generators.add(g);
                noise.push_back(Noise.randn(g, shape));
            }
            Tensor init = torch.cat(noise, 0).to(placement.torchDevice(), placement.dtype().scalarType);
            List<Tensor> contexts = new ArrayList<>(List.of(encodePrompts(negatives), encodePrompts(request.prompts())));
            for (String extra : guidance.extraPrompts()) contexts.add(encodePrompts(Collections.nCopies(batch, extra)));
            return s.handUp(Sampler.of(unet).run(init, contexts, scheduler, guidance, StepNoise.perItem(generators), null,
                    scheduler.timesteps().length));
        } finally {
            generators.forEach(Generator::close);
            scheduler.close();
        }
    }

    @Override
    public void close() {
        textEncoder.close();
        unet.close();
        vae.close();
    }
}

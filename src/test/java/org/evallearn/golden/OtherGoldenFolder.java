package org.evallearn.golden;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipConfig;
import org.evallearn.clip.ClipModel;
import org.evallearn.clip.ClipTextConfig;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.clip.ClipVisionConfig;
import org.evallearn.clip.TinyVocabulary;
import org.evallearn.detect.Detection;
import org.evallearn.detect.NudeNetDecoder;
import org.evallearn.diffusion.AutoencoderKL;
import org.evallearn.diffusion.AutoencoderKLConfig;
import org.evallearn.diffusion.Guidance;
import org.evallearn.diffusion.Noise;
import org.evallearn.diffusion.Posterior;
import org.evallearn.diffusion.Sampler;
import org.evallearn.diffusion.UNet2DConditionModel;
import org.evallearn.diffusion.UNetConfig;
import org.evallearn.diffusion.scheduler.Scheduler;
import org.evallearn.diffusion.scheduler.StepNoise;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.image.ImageDecoder;
import org.evallearn.image.RgbImage;
import org.evallearn.technique.SafeLatentDiffusion;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;

/**
 * Writes a folder in the layout of shared/golden/README.md with other tiny models than the shipped
 * ones: other channel counts, head counts, block layout, latent channels, sequence lengths, batch
 * sizes, seeds, step counts, guidance scales, scheduler configs, tokenizer length and image sizes.
 *
 * <p>The expected tensors are computed by this project's own code, so a run on this folder proves
 * only that every fixture runner takes its shapes, configs and settings from the folder (a
 * runner with a constant tuned to the shipped weights fails here); fidelity to the reference
 * implementations is proven by shared/golden itself.
 */
final class OtherGoldenFolder {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Cross-attention width and text length of the sampler and SLD fixtures: not SD's 768 × 77. */
    static final int CONTEXT_DIM = 24;
    static final int CONTEXT_LEN = 7;

    private OtherGoldenFolder() {}

    /** Two down levels (cross-attention on the first only), 3 latent channels, linear projections, sin/cos not flipped, freq_shift 1. */
    static UNetConfig unetConfig() {
        return new UNetConfig(3, 3, 8, List.of(16, 32), List.of(UNetConfig.CROSS_ATTN_DOWN, UNetConfig.DOWN),
                List.of(UNetConfig.UP, UNetConfig.CROSS_ATTN_UP), 1, List.of(2, 4), CONTEXT_DIM, 1, 8, 1e-6, false, 1, 1, 1,
                true, true);
    }

    /** 3 latent channels, two resnets per level, 8 groups, another scaling factor. */
    static AutoencoderKLConfig vaeConfig() {
        return new AutoencoderKLConfig(3, 3, 3, List.of(16, 32), 2, 8, 16, 0.5);
    }

    static void write(Path root) throws IOException {
        Files.createDirectories(root);
        try (Scope s = Scope.open()) {
            UNet2DConditionModel unet = unet(root.resolve("unet-tiny"), 101);
            AutoencoderKL vae = vae(root.resolve("vae-tiny"), 202);
            try (unet; vae) {
                sampler(root.resolve("sampler-ddim"), unet, vae, ddimConfig(), 5, 3.0, 3, 303);
                sampler(root.resolve("sampler-euler_ancestral"), unet, vae, eulerAncestralConfig(), 4, 6.0, 2, 404);
                sld(root.resolve("sld-strong"), unet, vae);
            }
            clip(root.resolve("clip-small"));
            tokenizer(root.resolve("tokenizer"));
            rng(root.resolve("rng"));
            clipPreprocess(root.resolve("clip-preprocess"));
            nudenet(root.resolve("nudenet-decode"));
        }
    }

    private static UNet2DConditionModel unet(Path dir, long seed) throws IOException {
        Files.createDirectories(dir);
        RandomBinder weights = new RandomBinder(seed, Placement.CPU_F32);
        UNet2DConditionModel unet = UNet2DConditionModel.random(unetConfig(), weights);
        SafeTensorsWriter.write(dir.resolve("diffusion_pytorch_model.safetensors"), weights.tensors());
        JSON.writeValue(dir.resolve("config.json").toFile(), unetConfig().toJson());
        Tensor sample = Noise.initialLatents(1, 3, 3, 8, 8);
        Tensor timestep = Tensor.create(new long[] {500, 20, 999}, 3);
        Tensor context = Noise.initialLatents(2, 3, CONTEXT_LEN, CONTEXT_DIM);
        io(dir, Map.of("sample", sample, "timestep", timestep, "encoder_hidden_states", context,
                "out", unet.forward(sample, timestep, context)));
        return unet;
    }

    private static AutoencoderKL vae(Path dir, long seed) throws IOException {
        Files.createDirectories(dir);
        RandomBinder weights = new RandomBinder(seed, Placement.CPU_F32);
        AutoencoderKL vae = AutoencoderKL.random(vaeConfig(), weights);
        SafeTensorsWriter.write(dir.resolve("diffusion_pytorch_model.safetensors"), weights.tensors());
        JSON.writeValue(dir.resolve("config.json").toFile(), vaeConfig().toJson());
        Tensor latents = Noise.initialLatents(3, 2, 3, 8, 8);
        Tensor image = Noise.initialLatents(4, 2, 3, 16, 16).tanh();
        Posterior posterior = vae.encode(image);
        io(dir, Map.of("latents", latents, "decoded", vae.decode(latents), "image", image,
                "posterior_mean", posterior.mean(), "posterior_logvar", posterior.logvar()));
        return vae;
    }

    /** DDIM with a linear beta schedule, trailing spacing and alpha_T = 1: none of SD's values. */
    private static ObjectNode ddimConfig() {
        ObjectNode c = JSON.createObjectNode().put("_class_name", "DDIMScheduler").put("beta_schedule", "linear")
                .put("beta_start", 0.0002).put("beta_end", 0.03).put("num_train_timesteps", 800).put("set_alpha_to_one", true)
                .put("clip_sample", false).put("steps_offset", 0).put("timestep_spacing", "trailing").put("prediction_type", "epsilon");
        c.putNull("trained_betas");
        return c;
    }

    private static ObjectNode eulerAncestralConfig() {
        ObjectNode c = JSON.createObjectNode().put("_class_name", "EulerAncestralDiscreteScheduler").put("beta_schedule", "scaled_linear")
                .put("beta_start", 0.001).put("beta_end", 0.015).put("num_train_timesteps", 1000).put("steps_offset", 1)
                .put("timestep_spacing", "linspace").put("prediction_type", "epsilon");
        c.putNull("trained_betas");
        return c;
    }

    private static void sampler(Path dir, UNet2DConditionModel unet, AutoencoderKL vae, ObjectNode config, int steps, double guidance,
            int batch, long seed) throws IOException {
        Files.createDirectories(dir);
        JSON.writeValue(dir.resolve("config.json").toFile(), config);
        Scheduler scheduler = Scheduler.fromConfig(new ConfigFile(dir + "/config.json", config));
        scheduler.setTimesteps(steps);
        Tensor init = Noise.initialLatents(seed, batch, 3, 8, 8);
        Tensor uncond = Noise.initialLatents(seed + 1, batch, CONTEXT_LEN, CONTEXT_DIM);
        Tensor cond = Noise.initialLatents(seed + 2, batch, CONTEXT_LEN, CONTEXT_DIM);
        List<Tensor> trace = new ArrayList<>();
        Tensor last;
        Generator g = Noise.generator(seed + 3);
        try {
            last = Sampler.of(unet).run(init, uncond, cond, scheduler, guidance, StepNoise.of(g), (i, latents) -> trace.add(latents.clone()));
        } finally {
            g.close();
        }
        Map<String, Tensor> io = new LinkedHashMap<>();
        io.put("init_noise", init);
        io.put("uncond", uncond);
        io.put("cond", cond);
        io.put("steps", Tensor.create(new long[] {steps}, 1));
        io.put("guidance_scale", Tensor.create(new float[] {(float) guidance}, 1));
        io.put("noise_seed", Tensor.create(new long[] {seed + 3}, 1));
        io.put("timesteps", Tensor.create(scheduler.timesteps()).to(torch.ScalarType.Float));
        io.put("trace", torch.stack(new TensorVector(trace.toArray(Tensor[]::new))));
        io.put("final_latents", last);
        io.put("image", vae.decode(last.div(new Scalar(vae.scalingFactor()))));
        io(dir, io);
    }

    private static void sld(Path dir, UNet2DConditionModel unet, AutoencoderKL vae) throws IOException {
        Files.createDirectories(dir);
        ObjectNode config = JSON.createObjectNode().put("_class_name", "PNDMScheduler").put("beta_schedule", "linear")
                .put("beta_start", 0.0005).put("beta_end", 0.02).put("num_train_timesteps", 1000).put("skip_prk_steps", true)
                .put("set_alpha_to_one", true).put("steps_offset", 0).put("timestep_spacing", "leading");
        config.putObject("sld").put("sld_guidance_scale", 800.0).put("sld_warmup_steps", 1.0).put("sld_threshold", 0.2)
                .put("sld_momentum_scale", 0.3).put("sld_mom_beta", 0.6);
        JSON.writeValue(dir.resolve("config.json").toFile(), config);
        Scheduler scheduler = Scheduler.fromConfig(new ConfigFile(dir + "/config.json", config));
        int steps = 6;
        double cfg = 4.0;
        scheduler.setTimesteps(steps);
        Tensor init = Noise.initialLatents(51, 2, 3, 8, 8);
        Tensor uncond = Noise.initialLatents(52, 2, CONTEXT_LEN, CONTEXT_DIM);
        Tensor cond = Noise.initialLatents(53, 2, CONTEXT_LEN, CONTEXT_DIM);
        Tensor safety = Noise.initialLatents(54, 2, CONTEXT_LEN, CONTEXT_DIM);
        Tensor latents;
        try (Guidance guidance = SafeLatentDiffusion.guidance(new SafeLatentDiffusion.Params(800, 1, 0.2, 0.3, 0.6), cfg, "given as embeddings")) {
            latents = Sampler.of(unet).run(init, List.of(uncond, cond, safety), scheduler, guidance, null, null, scheduler.timesteps().length);
        }
        Tensor image = vae.decode(latents.div(new Scalar(vae.scalingFactor()))).div(new Scalar(2)).add(new Scalar(0.5))
                .clamp(new ScalarOptional(new Scalar(0)), new ScalarOptional(new Scalar(1)));
        Map<String, Tensor> io = new LinkedHashMap<>();
        io.put("init_noise", init);
        io.put("uncond", uncond);
        io.put("cond", cond);
        io.put("safety", safety);
        io.put("steps", Tensor.create(new long[] {steps}, 1));
        io.put("guidance_scale", Tensor.create(new float[] {(float) cfg}, 1));
        io.put("image", image);
        io(dir, io);
    }

    /** A CLIPModel with exact-GELU towers, 3 text heads, 16-token texts and 16-pixel images in 4-pixel patches. */
    private static void clip(Path dir) throws IOException {
        Files.createDirectories(dir);
        int vocab = 300;
        ClipTextConfig text = new ClipTextConfig(vocab, 24, 48, 16, 1, 3, 16, "gelu", 1e-5, vocab - 1);
        ClipVisionConfig vision = new ClipVisionConfig(32, 64, 16, 2, 2, 3, 16, 4, "gelu", 1e-6);
        RandomBinder weights = new RandomBinder(505, Placement.CPU_F32);
        try (ClipModel model = ClipModel.random(new ClipConfig(text, vision, 16, 3.0), weights)) {
            SafeTensorsWriter.write(dir.resolve("model.safetensors"), weights.tensors());
            JSON.writeValue(dir.resolve("config.json").toFile(), model.configJson());
            // five texts: BOS, some ids, EOS (the largest id), then padding with EOS, at different lengths
            Random random = new Random(6);
            int texts = 5, length = 16;
            long[] ids = new long[texts * length];
            for (int i = 0; i < texts; i++) {
                int n = 2 + 3 * i;
                ids[i * length] = vocab - 2;
                for (int j = 1; j < length; j++) ids[i * length + j] = j < n ? random.nextInt(vocab - 2) : vocab - 1;
            }
            Tensor inputIds = Tensor.create(ids, texts, length);
            Tensor pixels = Noise.initialLatents(7, 2, 3, 16, 16);
            ClipTextModel.Output out = model.encodeText(inputIds);
            io(dir, Map.of("input_ids", inputIds, "pixel_values", pixels, "last_hidden_state", out.lastHiddenState(),
                    "pooled_output", out.pooledOutput(), "text_embeds", out.textEmbeds(),
                    "image_embeds", model.encodeImage(pixels).imageEmbeds(),
                    "logits_per_image", model.logitsPerImage(pixels, inputIds.narrow(0, 0, 2))));
        }
    }

    /** The tiny vocabulary, with model_max_length 20 instead of CLIP's 77. */
    private static void tokenizer(Path dir) throws IOException {
        TinyVocabulary.write(dir);
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("tokenizer_config.json").toFile());
        JSON.writeValue(dir.resolve("tokenizer_config.json").toFile(), config.put("model_max_length", 20));
        ClipTokenizer tokenizer = ClipTokenizer.load(dir);
        ArrayNode cases = JSON.createArrayNode();
        for (String text : List.of("a photo of a cat", "Greg  Rutkowski &amp; MONET", "", "word ".repeat(30), "zebra café 🙂")) {
            ObjectNode c = cases.addObject().put("text", text);
            ArrayNode bpe = c.putArray("bpe_ids"), sd = c.putArray("sd_input_ids");
            for (int id : tokenizer.encode(text)) bpe.add(id);
            for (long id : tokenizer.sdInputIds(text)) sd.add(id);
        }
        JSON.writeValue(dir.resolve("cases.json").toFile(), cases);
    }

    private static void rng(Path dir) throws IOException {
        Files.createDirectories(dir);
        io(dir, Map.of("randn_2x3x5_seed7", Noise.initialLatents(7, 2, 3, 5), "randn_33_seed123456", Noise.initialLatents(123456, 33)));
    }

    private static void clipPreprocess(Path dir) throws IOException {
        Files.createDirectories(dir);
        byte[] rgb = new byte[53 * 37 * 3];
        new Random(8).nextBytes(rgb);
        new RgbImage(53, 37, rgb).writePng(dir.resolve("input.png"));
        Tensor expected = ClipPreprocess.pixelValues(List.of(ImageDecoder.read(dir.resolve("input.png"))), 32, "cpu").select(0, 0);
        io(dir, Map.of("pixel_values", expected));
    }

    /** Two raw outputs at other anchor counts and image sizes; the detections are our decoder's. */
    private static void nudenet(Path dir) throws IOException {
        Files.createDirectories(dir);
        Random random = new Random(9);
        Map<String, Tensor> io = new LinkedHashMap<>();
        ArrayNode cases = JSON.createArrayNode();
        int[][] sizes = {{320, 40, 500, 300}, {640, 64, 200, 700}};
        for (int k = 0; k < sizes.length; k++) {
            int modelSize = sizes[k][0], anchors = sizes[k][1], w = sizes[k][2], h = sizes[k][3];
            float[] raw = new float[NudeNetDecoder.ROWS * anchors];
            for (int a = 0; a < anchors; a++) {
                raw[a] = random.nextFloat() * modelSize;
                raw[anchors + a] = random.nextFloat() * modelSize;
                raw[2 * anchors + a] = 10 + random.nextFloat() * modelSize / 3;
                raw[3 * anchors + a] = 10 + random.nextFloat() * modelSize / 3;
                for (int c = 4; c < NudeNetDecoder.ROWS; c++) raw[c * anchors + a] = random.nextFloat() * random.nextFloat();
            }
            String name = "case" + k;
            io.put(name, Tensor.create(raw, 1, NudeNetDecoder.ROWS, anchors));
            ObjectNode c = cases.addObject().put("name", name).put("output", name).put("model_size", modelSize)
                    .put("anchors", anchors).put("image_width", w).put("image_height", h);
            ArrayNode detections = c.putArray("detections");
            for (Detection d : NudeNetDecoder.decode(raw, 0, anchors, modelSize, w, h)) {
                detections.addObject().put("class", d.label().name()).put("score", d.score()).putArray("box")
                        .add(d.box().x()).add(d.box().y()).add(d.box().width()).add(d.box().height());
            }
        }
        JSON.writeValue(dir.resolve("cases.json").toFile(), cases);
        io(dir, io);
    }

    private static void io(Path dir, Map<String, Tensor> tensors) {
        Map<String, Tensor> contiguous = new LinkedHashMap<>();
        tensors.forEach((k, t) -> contiguous.put(k, t.contiguous()));
        SafeTensorsWriter.write(dir.resolve("io.safetensors"), contiguous);
    }
}

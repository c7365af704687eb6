package org.evallearn.diffusion;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.evallearn.clip.ClipTextConfig;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.clip.TinyVocabulary;
import org.evallearn.diffusion.checkpoint.Sd1Configs;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsWriter;

/**
 * A tiny random-weight Stable Diffusion 1.x pipeline in the diffusers folder layout: the same
 * block types, configs, file names and scheduler as the real one, at sizes that run a whole
 * generation on a CPU in about a second. Tests and offline demos use it to run the full path.
 */
public final class TinyPipeline {
    private TinyPipeline() {}

    /** The UNet of the golden fixture {@code unet-tiny}: three levels, cross-attention on two, latents 16×16. */
    public static UNetConfig unetConfig(int crossAttentionDim) {
        return new UNetConfig(4, 4, 16, List.of(32, 64, 64),
                List.of(UNetConfig.CROSS_ATTN_DOWN, UNetConfig.CROSS_ATTN_DOWN, UNetConfig.DOWN),
                List.of(UNetConfig.UP, UNetConfig.CROSS_ATTN_UP, UNetConfig.CROSS_ATTN_UP),
                2, List.of(8, 8, 8), crossAttentionDim, 1, 32, 1e-5, true, 0, 1, 1, false, false);
    }

    public static AutoencoderKLConfig vaeConfig() {
        return new AutoencoderKLConfig(3, 3, 4, List.of(32, 64), 1, 32, 32, 0.18215);
    }

    /** A two-layer text encoder over {@link TinyVocabulary}, whose last id is the EOS. */
    public static ClipTextConfig textConfig(int vocabSize) {
        return new ClipTextConfig(vocabSize, 32, 64, 32, 2, 4, 77, "quick_gelu", 1e-5, vocabSize - 1);
    }

    static ObjectNode modelIndex() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("_class_name", "StableDiffusionPipeline");
        o.put("_diffusers_version", "0.21.4");
        o.putArray("feature_extractor").addNull().addNull();
        o.put("requires_safety_checker", false);
        o.putArray("safety_checker").addNull().addNull();
        o.putArray("scheduler").add("diffusers").add("PNDMScheduler");
        o.putArray("text_encoder").add("transformers").add("CLIPTextModel");
        o.putArray("tokenizer").add("transformers").add("CLIPTokenizer");
        o.putArray("unet").add("diffusers").add("UNet2DConditionModel");
        o.putArray("vae").add("diffusers").add("AutoencoderKL");
        return o;
    }

    /**
     * Writes the folder. Refuses a folder that already holds a pipeline, so a real model is never
     * overwritten by mistake.
     */
    public static void write(Path dir, long seed) {
        if (Files.exists(dir.resolve("model_index.json"))) {
            throw new ModelLoadException(dir + " already holds a pipeline (model_index.json exists); choose an empty folder");
        }
        ObjectMapper json = new ObjectMapper();
        try {
            Files.createDirectories(dir);
            int vocab = TinyVocabulary.write(dir.resolve("tokenizer"));
            ClipTextConfig text = textConfig(vocab);

            RandomBinder textWeights = new RandomBinder(seed, Placement.CPU_F32);
            try (ClipTextModel model = ClipTextModel.random(text, false, textWeights)) {
                writeModel(json, dir.resolve("text_encoder"), "model.safetensors", model.configJson(), textWeights);
            }
            RandomBinder unetWeights = new RandomBinder(seed + 1, Placement.CPU_F32);
            UNetConfig unet = unetConfig(text.hiddenSize());
            try (UNet2DConditionModel model = UNet2DConditionModel.random(unet, unetWeights)) {
                writeModel(json, dir.resolve("unet"), "diffusion_pytorch_model.safetensors", unet.toJson(), unetWeights);
            }
            RandomBinder vaeWeights = new RandomBinder(seed + 2, Placement.CPU_F32);
            AutoencoderKLConfig vae = vaeConfig();
            try (AutoencoderKL model = AutoencoderKL.random(vae, vaeWeights)) {
                writeModel(json, dir.resolve("vae"), "diffusion_pytorch_model.safetensors", vae.toJson(), vaeWeights);
            }
            Path scheduler = Files.createDirectories(dir.resolve("scheduler"));
            json.writerWithDefaultPrettyPrinter().writeValue(scheduler.resolve("scheduler_config.json").toFile(), Sd1Configs.scheduler());
            // Last, so a folder with model_index.json is always complete.
            json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("model_index.json").toFile(), modelIndex());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tiny pipeline in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void writeModel(ObjectMapper json, Path dir, String file, ObjectNode config, RandomBinder weights)
            throws IOException {
        Files.createDirectories(dir);
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), config);
        SafeTensorsWriter.write(dir.resolve(file), weights.tensors());
    }
}

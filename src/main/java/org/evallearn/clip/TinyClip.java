package org.evallearn.clip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsWriter;

/**
 * A tiny random-weight CLIPModel folder in the transformers layout (config.json,
 * model.safetensors and the tokenizer files of {@link TinyVocabulary}): both towers with their
 * projections, taking 224-pixel images as the real preprocessing gives them. It lets the
 * CLIP-based detectors run offline next to the tiny Stable Diffusion pipeline; its judgements
 * mean nothing, only the path through the code is real.
 */
public final class TinyClip {
    public static final int PROJECTION_DIM = 32;

    private TinyClip() {}

    public static ClipConfig config(int vocabSize) {
        return config(vocabSize, PROJECTION_DIM);
    }

    /** The same towers with another projection width (768 for heads trained on ViT-L/14 embeddings). */
    public static ClipConfig config(int vocabSize, int projectionDim) {
        ClipTextConfig text = new ClipTextConfig(vocabSize, 32, 64, projectionDim, 2, 4, 77, "quick_gelu", 1e-5, vocabSize - 1);
        ClipVisionConfig vision = new ClipVisionConfig(32, 64, projectionDim, 2, 4, 3, ClipPreprocess.SIZE, 32, "quick_gelu", 1e-5);
        return new ClipConfig(text, vision, projectionDim, ClipConfig.DEFAULT_LOGIT_SCALE_INIT);
    }

    /** Writes the folder; refuses one that already holds a model. */
    public static void write(Path dir, long seed) {
        write(dir, seed, PROJECTION_DIM);
    }

    /** Writes the folder with image and text embeddings {@code projectionDim} wide. */
    public static void write(Path dir, long seed, int projectionDim) {
        write(dir, seed, vocab -> config(vocab, projectionDim));
    }

    /**
     * A random-weight CLIPModel folder of any size, with the tiny vocabulary's tokenizer files: for
     * benchmarks at real model sizes. {@code config} gets the tokenizer's vocabulary size.
     */
    public static void write(Path dir, long seed, java.util.function.IntFunction<ClipConfig> config) {
        if (Files.exists(dir.resolve("config.json"))) {
            throw new ModelLoadException(dir + " already holds a model (config.json exists); choose an empty folder");
        }
        try {
            Files.createDirectories(dir);
            ClipConfig clipConfig = config.apply(TinyVocabulary.write(dir));
            RandomBinder weights = new RandomBinder(seed, Placement.CPU_F32);
            ObjectNode json;
            try (ClipModel model = ClipModel.random(clipConfig, weights)) {
                SafeTensorsWriter.write(dir.resolve("model.safetensors"), weights.tensors());
                json = model.configJson();
            }
            // Last, so a folder with config.json is always complete.
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), json);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tiny CLIP model in " + dir + ": " + e.getMessage(), e);
        }
    }
}

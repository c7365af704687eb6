package org.evallearn.imagecls;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsWriter;

/**
 * A tiny random-weight {@code ViTForImageClassification} folder in the layout of
 * {@code Falconsai/nsfw_image_detection} (config.json, model.safetensors, preprocessor_config.json;
 * labels normal/nsfw), at the real 224-pixel input so the real preprocessing feeds it, with 32-pixel
 * patches and a 32-wide, 2-layer encoder. Its verdicts mean nothing.
 */
public final class TinyViT {
    public static final List<String> LABELS = List.of("normal", "nsfw");

    /**
     * The stand-in for {@code sanali209/nsfwfilter}: ART reads its labels 'safe' and 'porn' and a
     * third; the other names are placeholders (the judge's rule needs only 'safe').
     */
    public static final List<String> NSFWFILTER_LABELS = List.of("other", "porn", "safe");

    private TinyViT() {}

    public static ViTConfig config() {
        return config(LABELS);
    }

    public static ViTConfig config(List<String> labels) {
        return new ViTConfig(32, 2, 4, 64, "gelu", 1e-12, 224, 32, 3, true, labels);
    }

    public static void write(Path dir, long seed) {
        write(dir, seed, LABELS);
    }

    /** The tiny classifier with other label names (the real judge's), same architecture. */
    public static void write(Path dir, long seed, List<String> labels) {
        if (Files.exists(dir.resolve("config.json"))) {
            throw new ModelLoadException(dir + " already holds a model (config.json exists); choose an empty folder");
        }
        ObjectMapper json = new ObjectMapper();
        try {
            Files.createDirectories(dir);
            RandomBinder weights = new RandomBinder(seed, Placement.CPU_F32);
            ViTConfig config = config(labels);
            try (ViTForImageClassification m = ViTForImageClassification.random(config, weights)) {
                SafeTensorsWriter.write(dir.resolve("model.safetensors"), weights.tensors());
            }
            json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("preprocessor_config.json").toFile(),
                    ViTImageProcessor.vitDefaults(config.imageSize()).toJson());
            json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), config.toJson());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tiny ViT classifier in " + dir + ": " + e.getMessage(), e);
        }
    }
}

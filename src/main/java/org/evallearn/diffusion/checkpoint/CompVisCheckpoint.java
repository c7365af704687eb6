package org.evallearn.diffusion.checkpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Model;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.ModelLoader;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.TensorInfo;

/**
 * A single-file Stable Diffusion 1.x checkpoint in the original CompVis layout (e.g.
 * {@code v1-5-pruned-emaonly.safetensors}): UNet, VAE and CLIP text encoder in one key space,
 * each under its own prefix. The file is read three times, once per model, each time naming the
 * tensors through {@link CompVisKeys} and leaving the other models' keys unused.
 *
 * <p>The models are built with SD 1.x's configs (v1-inference.yaml) at the sizes the file's tensors
 * show, so SD 1.x's layout at other sizes loads too (see {@link CompVisShapes}).
 *
 * <p>Files with both EMA and plain UNet weights ({@code model_ema.*}, e.g. v1-5-pruned) load the
 * plain ones, as diffusers v0.21.4 {@code convert_ldm_unet_checkpoint} does by default.
 */
public final class CompVisCheckpoint {
    /**
     * How to bind one model to the file: the arguments for {@link ModelLoader#load} or
     * {@code new LoadingBinder(files, placement, legacyNames)} and {@code finish(name, ignorable)}.
     */
    public record Component(String modelName, Function<String, List<String>> legacyNames, Predicate<String> ignorable) {}

    private final Path path;
    private final CompVisShapes shapes;

    private CompVisCheckpoint(Path path, CompVisShapes shapes) {
        this.path = path;
        this.shapes = shapes;
    }

    /** Reads the header of {@code path} and checks that it is an SD 1.x CompVis checkpoint. */
    public static CompVisCheckpoint open(Path path) {
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".ckpt") || name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".bin")) {
            throw new ModelLoadException(path + ": pickled checkpoints are never loaded (unpickling runs arbitrary code);"
                    + " convert it to .safetensors first, or use the model's diffusers folder");
        }
        if (!path.getFileName().toString().endsWith(".safetensors")) throw new ModelLoadException(path + ": expected a single-file checkpoint named *.safetensors");
        if (!Files.isRegularFile(path)) throw new ModelLoadException(path + ": checkpoint file not found");
        Map<String, TensorInfo> infos;
        try (SafeTensorsFile file = SafeTensorsFile.open(path)) {
            infos = file.infos();
        }
        Set<String> keys = infos.keySet();
        TensorInfo convIn = infos.get(CompVisKeys.UNET_PREFIX + "input_blocks.0.0.weight");
        if (keys.stream().anyMatch(k -> k.startsWith("cond_stage_model.model."))) {
            throw new ModelLoadException(path + ": this is a Stable Diffusion 2.x checkpoint (OpenCLIP text encoder under"
                    + " cond_stage_model.model.); SD 2.x single-file checkpoints are not supported yet; use the diffusers folder");
        }
        if (keys.stream().anyMatch(k -> k.startsWith("conditioner.embedders."))) {
            throw new ModelLoadException(path + ": this is a Stable Diffusion XL checkpoint (conditioner.embedders.);"
                    + " SDXL single-file checkpoints are not supported; use the diffusers folder");
        }
        for (String prefix : List.of(CompVisKeys.UNET_PREFIX, CompVisKeys.VAE_PREFIX, CompVisKeys.TEXT_ENCODER_PREFIX)) {
            if (keys.stream().noneMatch(k -> k.startsWith(prefix))) {
                Set<String> tops = new TreeSet<>();
                keys.forEach(k -> tops.add(k.contains(".") ? k.substring(0, k.indexOf('.') + 1) : k));
                throw new ModelLoadException(path + ": not a complete Stable Diffusion 1.x checkpoint: no tensor starts with '"
                        + prefix + "' (UNet model.diffusion_model., VAE first_stage_model. and text encoder"
                        + " cond_stage_model.transformer. are all needed); its keys start with " + tops);
            }
        }
        if (convIn == null || convIn.shape().length != 4) {
            throw new ModelLoadException(path + ": " + CompVisKeys.UNET_PREFIX + "input_blocks.0.0.weight (the UNet's conv_in)"
                    + " is missing or not a convolution weight");
        }
        return new CompVisCheckpoint(path, new CompVisShapes(infos));
    }

    public Path path() {
        return path;
    }

    /**
     * {@link Sd1Configs#unet()} with the sizes the file's tensors show (see {@link CompVisShapes}):
     * e.g. {@code in_channels} 9 for the SD 1.x inpainting checkpoints, 4 otherwise.
     */
    public ObjectNode unetConfig() {
        return shapes.unet();
    }

    /** {@link Sd1Configs#vae()} with the sizes the file's tensors show. */
    public ObjectNode vaeConfig() {
        return shapes.vae();
    }

    /** @param config the UNet2DConditionModel config the model is built with */
    public Component unet(ConfigFile config) {
        CompVisKeys.UNetLayout layout = CompVisKeys.UNetLayout.of(config);
        return new Component("UNet2DConditionModel from CompVis checkpoint",
                k -> single(CompVisKeys.unet(layout, k)), outside(CompVisKeys.UNET_PREFIX));
    }

    /** @param config the AutoencoderKL config the model is built with */
    public Component vae(ConfigFile config) {
        CompVisKeys.VaeLayout layout = CompVisKeys.VaeLayout.of(config);
        return new Component("AutoencoderKL from CompVis checkpoint",
                k -> single(CompVisKeys.vae(layout, k)), outside(CompVisKeys.VAE_PREFIX));
    }

    /**
     * The CLIPTextModel; {@code embeddings.position_ids}, a buffer some files carry, may stay
     * unused (convert_ldm_clip_checkpoint drops it too when the model has none).
     */
    public Component textEncoder() {
        return new Component("CLIPTextModel from CompVis checkpoint", CompVisKeys::textEncoder,
                outside(CompVisKeys.TEXT_ENCODER_PREFIX).or(k -> k.endsWith("embeddings.position_ids")));
    }

    /** Builds one model on this file's weights, strictly (see {@link ModelLoader#load}). */
    public <M extends Model> M load(Component component, Placement placement, Function<Params, M> build) {
        Path absolute = path.toAbsolutePath();
        String file = absolute.getFileName().toString();
        String base = file.substring(0, file.length() - ".safetensors".length());
        return ModelLoader.load(absolute.getParent(), base, null, placement, component.legacyNames(), component.ignorable(),
                component.modelName(), path + " (the config derived for " + component.modelName() + ")", build);
    }

    private static List<String> single(String key) {
        return key == null ? List.of() : List.of(key);
    }

    private static Predicate<String> outside(String prefix) {
        return k -> !k.startsWith(prefix);
    }
}

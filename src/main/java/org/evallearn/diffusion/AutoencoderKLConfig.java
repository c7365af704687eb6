package org.evallearn.diffusion;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/**
 * A diffusers {@code AutoencoderKL} config (autoencoder_kl.py) as Stable Diffusion uses it,
 * validated: only {@code DownEncoderBlock2D}/{@code UpDecoderBlock2D} blocks and SiLU.
 *
 * <p>{@code force_upcast} is accepted and ignored: in diffusers v0.21.4 only the SDXL pipelines
 * read it; {@code StableDiffusionPipeline} decodes in the VAE's own dtype.
 */
public record AutoencoderKLConfig(
        int inChannels,
        int outChannels,
        int latentChannels,
        List<Integer> blockOutChannels,
        int layersPerBlock,
        int normNumGroups,
        int sampleSize,
        double scalingFactor) {

    public AutoencoderKLConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        if (blockOutChannels.isEmpty()) throw new IllegalArgumentException("block_out_channels is empty");
        if (layersPerBlock < 1) throw new IllegalArgumentException("layers_per_block must be at least 1, got " + layersPerBlock);
    }

    public static AutoencoderKLConfig read(Path dir) {
        return from(ConfigFile.read(dir.resolve("config.json")));
    }

    public static AutoencoderKLConfig from(ConfigFile c) {
        c.requireOneOf("_class_name", "AutoencoderKL");
        c.requireOneOf("act_fn", "silu");
        // Fields of later diffusers versions, accepted only at the values that mean 0.21.4's model.
        c.requireOneOf("use_quant_conv", true);
        c.requireOneOf("use_post_quant_conv", true);
        c.requireOneOf("mid_block_add_attention", true);
        c.requireOneOf("shift_factor");
        c.requireOneOf("latents_mean");
        c.requireOneOf("latents_std");
        List<Integer> channels = c.integers("block_out_channels");
        requireAll(c, "down_block_types", "DownEncoderBlock2D", channels.size());
        requireAll(c, "up_block_types", "UpDecoderBlock2D", channels.size());
        try {
            return new AutoencoderKLConfig(
                    c.integer("in_channels", 3),
                    c.integer("out_channels", 3),
                    c.integer("latent_channels", 4),
                    channels,
                    c.integer("layers_per_block", 1),
                    c.integer("norm_num_groups", 32),
                    c.integer("sample_size", 32),
                    c.number("scaling_factor", 0.18215));
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(c.source() + ": " + e.getMessage(), e);
        }
    }

    private static void requireAll(ConfigFile c, String field, String type, int count) {
        List<String> types = c.strings(field);
        if (types.size() != count || types.stream().anyMatch(t -> !t.equals(type))) {
            throw c.error(field, count + " times \"" + type + "\" (one per block_out_channels entry)");
        }
    }

    /** The config in diffusers' field names, so a model made here can be saved as a diffusers folder. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("_class_name", "AutoencoderKL");
        o.put("_diffusers_version", "0.21.4");
        o.put("act_fn", "silu");
        blockOutChannels.forEach(o.putArray("block_out_channels")::add);
        var down = o.putArray("down_block_types");
        blockOutChannels.forEach(x -> down.add("DownEncoderBlock2D"));
        o.put("in_channels", inChannels);
        o.put("latent_channels", latentChannels);
        o.put("layers_per_block", layersPerBlock);
        o.put("norm_num_groups", normNumGroups);
        o.put("out_channels", outChannels);
        o.put("sample_size", sampleSize);
        o.put("scaling_factor", scalingFactor);
        var up = o.putArray("up_block_types");
        blockOutChannels.forEach(x -> up.add("UpDecoderBlock2D"));
        return o;
    }
}

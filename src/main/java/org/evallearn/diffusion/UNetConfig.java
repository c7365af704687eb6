package org.evallearn.diffusion;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/**
 * The part of a diffusers {@code UNet2DConditionModel} config that Stable Diffusion 1.x and 2.x
 * use, validated. {@link #from} rejects every value we do not implement, naming the field, rather
 * than silently computing something else.
 *
 * @param attentionHeads number of heads per down block (diffusers 0.21 reads SD's
 *     {@code attention_head_dim} as the head count: {@code num_attention_heads or attention_head_dim})
 */
public record UNetConfig(
        int inChannels,
        int outChannels,
        int sampleSize,
        List<Integer> blockOutChannels,
        List<String> downBlockTypes,
        List<String> upBlockTypes,
        int layersPerBlock,
        List<Integer> attentionHeads,
        int crossAttentionDim,
        int transformerLayersPerBlock,
        int normNumGroups,
        double normEps,
        boolean flipSinToCos,
        double freqShift,
        int downsamplePadding,
        double midBlockScaleFactor,
        boolean upcastAttention,
        boolean useLinearProjection) {

    public static final String CROSS_ATTN_DOWN = "CrossAttnDownBlock2D";
    public static final String DOWN = "DownBlock2D";
    public static final String CROSS_ATTN_UP = "CrossAttnUpBlock2D";
    public static final String UP = "UpBlock2D";

    public UNetConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        attentionHeads = List.copyOf(attentionHeads);
        int n = blockOutChannels.size();
        if (n == 0) throw new IllegalArgumentException("block_out_channels is empty");
        if (downBlockTypes.size() != n || upBlockTypes.size() != n || attentionHeads.size() != n) {
            throw new IllegalArgumentException("down_block_types, up_block_types and attention_head_dim must have one entry per"
                    + " block_out_channels entry (" + n + "), got " + downBlockTypes.size() + ", " + upBlockTypes.size()
                    + ", " + attentionHeads.size());
        }
        for (String t : downBlockTypes) {
            if (!t.equals(CROSS_ATTN_DOWN) && !t.equals(DOWN)) {
                throw new IllegalArgumentException("down_block_types entry '" + t + "' is not supported (supported: "
                        + CROSS_ATTN_DOWN + ", " + DOWN + ")");
            }
        }
        for (String t : upBlockTypes) {
            if (!t.equals(CROSS_ATTN_UP) && !t.equals(UP)) {
                throw new IllegalArgumentException("up_block_types entry '" + t + "' is not supported (supported: "
                        + CROSS_ATTN_UP + ", " + UP + ")");
            }
        }
    }

    public static UNetConfig read(Path dir) {
        return from(ConfigFile.read(dir.resolve("config.json")));
    }

    public static UNetConfig from(ConfigFile c) {
        c.requireOneOf("_class_name", "UNet2DConditionModel");
        // num_attention_heads is refused by diffusers 0.21 itself; SD puts the head count in attention_head_dim.
        c.requireOneOf("num_attention_heads");
        c.requireOneOf("class_embed_type");
        c.requireOneOf("num_class_embeds");
        c.requireOneOf("addition_embed_type");
        c.requireOneOf("encoder_hid_dim");
        c.requireOneOf("encoder_hid_dim_type");
        c.requireOneOf("time_cond_proj_dim");
        c.requireOneOf("time_embedding_dim");
        c.requireOneOf("time_embedding_act_fn");
        c.requireOneOf("timestep_post_act");
        c.requireOneOf("projection_class_embeddings_input_dim");
        c.requireOneOf("cross_attention_norm");
        c.requireOneOf("time_embedding_type", "positional");
        c.requireOneOf("mid_block_type", "UNetMidBlock2DCrossAttn");
        c.requireOneOf("resnet_time_scale_shift", "default");
        c.requireOneOf("attention_type", "default");
        c.requireOneOf("act_fn", "silu");
        c.requireOneOf("center_input_sample", false);
        c.requireOneOf("dual_cross_attention", false);
        c.requireOneOf("only_cross_attention", false);
        c.requireOneOf("mid_block_only_cross_attention", false);
        c.requireOneOf("class_embeddings_concat", false);
        c.requireOneOf("resnet_skip_time_act", false);
        c.requireOneOf("resnet_out_scale_factor", 1);
        c.requireOneOf("conv_in_kernel", 3);
        c.requireOneOf("conv_out_kernel", 3);
        c.requireOneOf("dropout", 0);
        c.requireOneOf("reverse_transformer_layers_per_block");
        // null means "no output norm" to diffusers, not "the default"
        if (c.raw().has("norm_num_groups") && c.raw().get("norm_num_groups").isNull()) throw c.error("norm_num_groups", "an integer");

        List<Integer> channels = c.integers("block_out_channels");
        try {
            return new UNetConfig(
                    c.integer("in_channels", 4),
                    c.integer("out_channels", 4),
                    c.integer("sample_size", 64),
                    channels,
                    c.strings("down_block_types"),
                    c.strings("up_block_types"),
                    c.integer("layers_per_block", 2),
                    perBlock(c, "attention_head_dim", 8, channels.size()),
                    c.integer("cross_attention_dim", 1280),
                    c.integer("transformer_layers_per_block", 1),
                    c.integer("norm_num_groups", 32),
                    c.number("norm_eps", 1e-5),
                    c.bool("flip_sin_to_cos", true),
                    c.number("freq_shift", 0),
                    c.integer("downsample_padding", 1),
                    c.number("mid_block_scale_factor", 1),
                    c.bool("upcast_attention", false),
                    c.bool("use_linear_projection", false));
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(c.source() + ": " + e.getMessage(), e);
        }
    }

    /** An int applying to every block, or a list with one entry per block. */
    private static List<Integer> perBlock(ConfigFile c, String field, int dflt, int blocks) {
        if (!c.has(field)) return Collections.nCopies(blocks, dflt);
        JsonNode n = c.raw().get(field);
        return n.isArray() ? c.integers(field) : Collections.nCopies(blocks, c.integer(field));
    }

    /** Channels of the time embedding: 4× the first block's, as diffusers' positional default. */
    public int timeEmbedDim() {
        return blockOutChannels.get(0) * 4;
    }

    /** The config in diffusers' field names, so a model made here can be saved as a diffusers folder. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("_class_name", "UNet2DConditionModel");
        o.put("_diffusers_version", "0.21.4");
        o.put("act_fn", "silu");
        o.putNull("addition_embed_type");
        if (attentionHeads.stream().distinct().count() == 1) {
            o.put("attention_head_dim", attentionHeads.get(0));
        } else {
            attentionHeads.forEach(o.putArray("attention_head_dim")::add);
        }
        blockOutChannels.forEach(o.putArray("block_out_channels")::add);
        o.put("center_input_sample", false);
        o.putNull("class_embed_type");
        o.put("cross_attention_dim", crossAttentionDim);
        downBlockTypes.forEach(o.putArray("down_block_types")::add);
        o.put("downsample_padding", downsamplePadding);
        o.put("dual_cross_attention", false);
        o.put("flip_sin_to_cos", flipSinToCos);
        o.put("freq_shift", freqShift);
        o.put("in_channels", inChannels);
        o.put("layers_per_block", layersPerBlock);
        o.put("mid_block_scale_factor", midBlockScaleFactor);
        o.put("mid_block_type", "UNetMidBlock2DCrossAttn");
        o.put("norm_eps", normEps);
        o.put("norm_num_groups", normNumGroups);
        o.putNull("num_attention_heads");
        o.put("only_cross_attention", false);
        o.put("out_channels", outChannels);
        o.put("resnet_time_scale_shift", "default");
        o.put("sample_size", sampleSize);
        o.put("time_embedding_type", "positional");
        o.put("transformer_layers_per_block", transformerLayersPerBlock);
        upBlockTypes.forEach(o.putArray("up_block_types")::add);
        o.put("upcast_attention", upcastAttention);
        o.put("use_linear_projection", useLinearProjection);
        return o;
    }
}

package org.evallearn.diffusion.checkpoint;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/**
 * Where a CompVis (original Stable Diffusion 1.x) single-file checkpoint keeps the tensor that
 * our diffusers/transformers-named models ask for: the inverse of diffusers v0.21.4
 * {@code pipelines/stable_diffusion/convert_from_ckpt.py}, asked key by key, so no converted
 * copy of the state dict is ever built.
 *
 * <p>Each function returns the full file key, or null when the key has no CompVis counterpart
 * (the loader then reports it missing).
 */
public final class CompVisKeys {
    public static final String UNET_PREFIX = "model.diffusion_model.";
    public static final String VAE_PREFIX = "first_stage_model.";
    public static final String TEXT_ENCODER_PREFIX = "cond_stage_model.transformer.";

    private CompVisKeys() {}

    /**
     * What the UNet key numbering depends on.
     *
     * @param upAttention per up block (diffusers order): whether it is a CrossAttnUpBlock2D,
     *     which moves its upsampler from CompVis sub-index 1 to 2
     */
    public record UNetLayout(int levels, int layersPerBlock, List<Boolean> upAttention) {
        public UNetLayout {
            upAttention = List.copyOf(upAttention);
            if (levels < 1 || layersPerBlock < 1 || upAttention.size() != levels) {
                throw new IllegalArgumentException("UNet layout needs levels >= 1, layersPerBlock >= 1 and one up-block kind per level, got "
                        + levels + ", " + layersPerBlock + ", " + upAttention);
            }
        }

        /** From a diffusers {@code UNet2DConditionModel} config. */
        public static UNetLayout of(ConfigFile config) {
            List<String> types = config.strings("up_block_types");
            List<Boolean> attention = types.stream().map(t -> switch (t) {
                case "CrossAttnUpBlock2D" -> true;
                case "UpBlock2D" -> false;
                default -> throw new ModelLoadException(config.source() + ": up block type '" + t
                        + "' has no CompVis key mapping (supported: CrossAttnUpBlock2D, UpBlock2D)");
            }).toList();
            int levels = config.integers("block_out_channels").size();
            if (attention.size() != levels) throw config.error("up_block_types", "one entry per block_out_channels entry");
            return new UNetLayout(levels, config.integer("layers_per_block"), attention);
        }
    }

    /** What the VAE key numbering depends on. */
    public record VaeLayout(int levels, int layersPerBlock) {
        public VaeLayout {
            if (levels < 1 || layersPerBlock < 1) {
                throw new IllegalArgumentException("VAE layout needs levels >= 1 and layersPerBlock >= 1, got " + levels + ", " + layersPerBlock);
            }
        }

        /** From a diffusers {@code AutoencoderKL} config. */
        public static VaeLayout of(ConfigFile config) {
            return new VaeLayout(config.integers("block_out_channels").size(), config.integer("layers_per_block"));
        }
    }

    // convert_ldm_unet_checkpoint: the renames outside the blocks.
    private static final Map<String, String> UNET_TOP = Map.of(
            "time_embedding.linear_1.", "time_embed.0.",
            "time_embedding.linear_2.", "time_embed.2.",
            "conv_in.", "input_blocks.0.0.",
            "conv_norm_out.", "out.0.",
            "conv_out.", "out.2.");
    // renew_resnet_paths, read backwards.
    private static final Map<String, String> UNET_RESNET = Map.of(
            "norm1", "in_layers.0",
            "conv1", "in_layers.2",
            "time_emb_proj", "emb_layers.1",
            "norm2", "out_layers.0",
            "conv2", "out_layers.3",
            "conv_shortcut", "skip_connection");
    private static final Pattern BLOCK =
            Pattern.compile("(down|up)_blocks\\.(\\d+)\\.(resnets|attentions|downsamplers|upsamplers)\\.(\\d+)\\.(.+)");
    private static final Pattern MID = Pattern.compile("mid_block\\.(resnets|attentions)\\.(\\d+)\\.(.+)");

    /** The file key of a diffusers {@code UNet2DConditionModel} key. */
    public static String unet(UNetLayout layout, String key) {
        for (Map.Entry<String, String> e : UNET_TOP.entrySet()) {
            if (key.startsWith(e.getKey())) return UNET_PREFIX + e.getValue() + key.substring(e.getKey().length());
        }
        Matcher m = BLOCK.matcher(key);
        if (m.matches()) {
            int block = Integer.parseInt(m.group(2));
            int index = Integer.parseInt(m.group(4));
            String rest = m.group(5);
            if (block >= layout.levels()) return null;
            int layers = layout.layersPerBlock();
            boolean last = block == layout.levels() - 1;
            // CompVis numbers every layer of the UNet in one sequence per side, the resampler
            // being one more layer of its level: (layers + 1) entries per level.
            if (m.group(1).equals("down")) {
                int first = 1 + block * (layers + 1); // input_blocks.0 is conv_in
                return switch (m.group(3)) {
                    case "resnets" -> index < layers ? prefixed(UNET_PREFIX + "input_blocks." + (first + index) + ".0.", unetResnet(rest)) : null;
                    case "attentions" -> index < layers ? UNET_PREFIX + "input_blocks." + (first + index) + ".1." + rest : null;
                    case "downsamplers" -> index == 0 && !last && rest.startsWith("conv.")
                            ? UNET_PREFIX + "input_blocks." + (first + layers) + ".0.op." + rest.substring("conv.".length()) : null;
                    default -> null;
                };
            }
            int first = block * (layers + 1);
            return switch (m.group(3)) {
                case "resnets" -> index <= layers ? prefixed(UNET_PREFIX + "output_blocks." + (first + index) + ".0.", unetResnet(rest)) : null;
                case "attentions" -> index <= layers ? UNET_PREFIX + "output_blocks." + (first + index) + ".1." + rest : null;
                // convert_ldm_unet_checkpoint finds the upsampler as the sub-module holding only
                // conv.{weight,bias}: after the resnet, and after the attention when there is one.
                case "upsamplers" -> index == 0 && !last && rest.startsWith("conv.")
                        ? UNET_PREFIX + "output_blocks." + (first + layers) + "." + (layout.upAttention().get(block) ? 2 : 1) + "." + rest : null;
                default -> null;
            };
        }
        m = MID.matcher(key);
        if (m.matches()) {
            // assign_to_checkpoint: middle_block.0/1/2 are mid_block.resnets.0, attentions.0, resnets.1.
            String rest = m.group(3);
            return switch (m.group(1) + m.group(2)) {
                case "resnets0" -> prefixed(UNET_PREFIX + "middle_block.0.", unetResnet(rest));
                case "attentions0" -> UNET_PREFIX + "middle_block.1." + rest;
                case "resnets1" -> prefixed(UNET_PREFIX + "middle_block.2.", unetResnet(rest));
                default -> null;
            };
        }
        return null;
    }

    private static String unetResnet(String rest) {
        return renameHead(rest, UNET_RESNET);
    }

    // convert_ldm_vae_checkpoint: renames outside the blocks (the rest keep their names).
    private static final Pattern VAE_SAME = Pattern.compile("(encoder\\.conv_in|encoder\\.conv_out|decoder\\.conv_in|decoder\\.conv_out|quant_conv|post_quant_conv)\\..+");
    private static final Pattern VAE_NORM_OUT = Pattern.compile("(encoder|decoder)\\.conv_norm_out\\.(.+)");
    // renew_vae_resnet_paths: only the shortcut differs.
    private static final Map<String, String> VAE_RESNET = Map.of(
            "norm1", "norm1", "conv1", "conv1", "norm2", "norm2", "conv2", "conv2", "conv_shortcut", "nin_shortcut");
    // renew_vae_attention_paths, read backwards.
    private static final Map<String, String> VAE_ATTENTION = Map.of(
            "group_norm", "norm", "to_q", "q", "to_k", "k", "to_v", "v", "to_out.0", "proj_out");
    private static final Pattern VAE_BLOCK =
            Pattern.compile("(encoder\\.down|decoder\\.up)_blocks\\.(\\d+)\\.(resnets|downsamplers|upsamplers)\\.(\\d+)\\.(.+)");
    private static final Pattern VAE_MID = Pattern.compile("(encoder|decoder)\\.mid_block\\.(resnets|attentions)\\.(\\d+)\\.(.+)");

    /**
     * The file key of a diffusers {@code AutoencoderKL} key. The attention's q/k/v/proj_out
     * weights are stored as 1×1 convs ({@code [C, C, 1, 1]}); the loader drops those dims.
     */
    public static String vae(VaeLayout layout, String key) {
        if (VAE_SAME.matcher(key).matches()) return VAE_PREFIX + key;
        Matcher m = VAE_NORM_OUT.matcher(key);
        if (m.matches()) return VAE_PREFIX + m.group(1) + ".norm_out." + m.group(2);
        m = VAE_BLOCK.matcher(key);
        if (m.matches()) {
            int block = Integer.parseInt(m.group(2));
            int index = Integer.parseInt(m.group(4));
            String rest = m.group(5);
            int levels = layout.levels();
            if (block >= levels) return null;
            boolean last = block == levels - 1;
            if (m.group(1).equals("encoder.down")) {
                String level = VAE_PREFIX + "encoder.down." + block + ".";
                return switch (m.group(3)) {
                    case "resnets" -> index < layout.layersPerBlock() ? prefixed(level + "block." + index + ".", renameHead(rest, VAE_RESNET)) : null;
                    case "downsamplers" -> index == 0 && !last && rest.startsWith("conv.") ? level + "downsample." + rest : null;
                    default -> null;
                };
            }
            // The decoder's up levels are numbered from the lowest resolution in diffusers and
            // from the highest in CompVis (convert_ldm_vae_checkpoint: block_id = n - 1 - i).
            String level = VAE_PREFIX + "decoder.up." + (levels - 1 - block) + ".";
            return switch (m.group(3)) {
                case "resnets" -> index <= layout.layersPerBlock() ? prefixed(level + "block." + index + ".", renameHead(rest, VAE_RESNET)) : null;
                case "upsamplers" -> index == 0 && !last && rest.startsWith("conv.") ? level + "upsample." + rest : null;
                default -> null;
            };
        }
        m = VAE_MID.matcher(key);
        if (m.matches()) {
            String mid = VAE_PREFIX + m.group(1) + ".mid.";
            int index = Integer.parseInt(m.group(3));
            String rest = m.group(4);
            if (m.group(2).equals("resnets")) {
                return index <= 1 ? prefixed(mid + "block_" + (index + 1) + ".", renameHead(rest, VAE_RESNET)) : null;
            }
            if (index != 0) return null;
            for (Map.Entry<String, String> e : VAE_ATTENTION.entrySet()) {
                if (rest.startsWith(e.getKey() + ".")) return mid + "attn_1." + e.getValue() + rest.substring(e.getKey().length());
            }
        }
        return null;
    }

    /**
     * The file keys to try for a transformers {@code CLIPTextModel} key: most files keep the
     * model's own {@code text_model.} level, some older ones lack it (convert_ldm_clip_checkpoint
     * strips {@code cond_stage_model.transformer.} and hands on whatever remains).
     */
    public static List<String> textEncoder(String key) {
        String nested = "text_model.";
        return key.startsWith(nested)
                ? List.of(TEXT_ENCODER_PREFIX + key, TEXT_ENCODER_PREFIX + key.substring(nested.length()))
                : List.of(TEXT_ENCODER_PREFIX + key);
    }

    /** {@code rest} with its first segment renamed by {@code names}, or null when it has none there. */
    private static String renameHead(String rest, Map<String, String> names) {
        int dot = rest.indexOf('.');
        if (dot < 0) return null;
        String head = names.get(rest.substring(0, dot));
        return head == null ? null : head + rest.substring(dot);
    }

    private static String prefixed(String prefix, String renamed) {
        return renamed == null ? null : prefix + renamed;
    }
}

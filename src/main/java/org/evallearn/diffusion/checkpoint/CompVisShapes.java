package org.evallearn.diffusion.checkpoint;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.evallearn.tensor.TensorInfo;

/**
 * The diffusers configs a CompVis single file implies: v1-inference.yaml's ({@link Sd1Configs}),
 * with every size its tensors show read from their shapes, so a file of SD 1.x's layout at other
 * sizes (a reduced test model, a pruned fine-tune) is built at its own sizes. For a genuine SD 1.x
 * file the result is exactly v1-inference.yaml's.
 *
 * <p>What no shape shows stays as the yaml has it: the head count (8; {@code attention_head_dim}),
 * the GroupNorm group count (32), the sample sizes and the VAE scaling factor. When the UNet's
 * level structure cannot be read (no downsampler, or numbering that does not fit levels of
 * {@code layers + 1} blocks) it stays the yaml's too, and strict binding names what does not fit.
 */
final class CompVisShapes {
    private static final String U = CompVisKeys.UNET_PREFIX;
    private static final String V = CompVisKeys.VAE_PREFIX;
    private static final Pattern INPUT_BLOCK = Pattern.compile(Pattern.quote(U) + "input_blocks\\.(\\d+)\\..*");
    private static final Pattern DOWNSAMPLER = Pattern.compile(Pattern.quote(U) + "input_blocks\\.(\\d+)\\.0\\.op\\.weight");

    private final Map<String, TensorInfo> infos;

    CompVisShapes(Map<String, TensorInfo> infos) {
        this.infos = infos;
    }

    /** {@code UNet2DConditionModel} config (convert_from_ckpt.py create_unet_diffusers_config, sizes from the tensors). */
    ObjectNode unet() {
        ObjectNode c = Sd1Configs.unet();
        dim(U + "input_blocks.0.0.weight", 1).ifPresent(v -> c.put("in_channels", v));
        dim(U + "out.2.weight", 0).ifPresent(v -> c.put("out_channels", v));
        TreeSet<Integer> blocks = indices(INPUT_BLOCK);
        TreeSet<Integer> downsamplers = indices(DOWNSAMPLER);
        if (blocks.isEmpty() || downsamplers.isEmpty()) return c;
        // input_blocks.0 is conv_in; each level holds `layers` resnets (+ attentions) and all but
        // the last a downsampler, so the first downsampler sits at 1 + layers.
        int layers = downsamplers.first() - 1;
        int count = blocks.last() + 1;
        if (layers < 1 || count % (layers + 1) != 0) return c;
        int levels = count / (layers + 1);
        ArrayNode channels = c.arrayNode(), down = c.arrayNode(), up = c.arrayNode();
        for (int i = 0; i < levels; i++) {
            int first = 1 + i * (layers + 1);
            OptionalInt ch = dim(U + "input_blocks." + first + ".0.out_layers.3.weight", 0);
            if (ch.isEmpty()) return c;
            channels.add(ch.getAsInt());
            down.add(hasPrefix(U + "input_blocks." + first + ".1.") ? "CrossAttnDownBlock2D" : "DownBlock2D");
            up.add(hasPrefix(U + "output_blocks." + i * (layers + 1) + ".1.proj_in.") ? "CrossAttnUpBlock2D" : "UpBlock2D");
        }
        c.set("block_out_channels", channels);
        c.set("down_block_types", down);
        c.set("up_block_types", up);
        c.put("layers_per_block", layers);
        for (Map.Entry<String, TensorInfo> e : infos.entrySet()) {
            String k = e.getKey();
            if (k.startsWith(U) && k.endsWith(".attn2.to_k.weight")) c.put("cross_attention_dim", Math.toIntExact(e.getValue().shape()[1]));
            if (k.startsWith(U) && k.endsWith(".proj_in.weight")) c.put("use_linear_projection", e.getValue().shape().length == 2);
        }
        String firstAttention = attentionPrefix(levels, layers);
        if (firstAttention != null) {
            c.put("transformer_layers_per_block", indices(Pattern.compile(Pattern.quote(firstAttention) + "transformer_blocks\\.(\\d+)\\..*")).size());
        }
        return c;
    }

    /** The key prefix of the first down-path attention, or null when there is none. */
    private String attentionPrefix(int levels, int layers) {
        for (int i = 0; i < levels; i++) {
            String p = U + "input_blocks." + (1 + i * (layers + 1)) + ".1.";
            if (hasPrefix(p)) return p;
        }
        return null;
    }

    /** {@code AutoencoderKL} config (create_vae_diffusers_config, sizes from the tensors). */
    ObjectNode vae() {
        ObjectNode c = Sd1Configs.vae();
        dim(V + "encoder.conv_in.weight", 1).ifPresent(v -> c.put("in_channels", v));
        dim(V + "decoder.conv_out.weight", 0).ifPresent(v -> c.put("out_channels", v));
        dim(V + "post_quant_conv.weight", 0).ifPresent(v -> c.put("latent_channels", v));
        TreeSet<Integer> levels = indices(Pattern.compile(Pattern.quote(V) + "encoder\\.down\\.(\\d+)\\..*"));
        TreeSet<Integer> layers = indices(Pattern.compile(Pattern.quote(V) + "encoder\\.down\\.0\\.block\\.(\\d+)\\..*"));
        if (levels.isEmpty() || layers.isEmpty() || levels.last() + 1 != levels.size()) return c;
        ArrayNode channels = c.arrayNode(), down = c.arrayNode(), up = c.arrayNode();
        for (int i = 0; i < levels.size(); i++) {
            OptionalInt ch = dim(V + "encoder.down." + i + ".block.0.conv2.weight", 0);
            if (ch.isEmpty()) return c;
            channels.add(ch.getAsInt());
            down.add("DownEncoderBlock2D");
            up.add("UpDecoderBlock2D");
        }
        c.set("block_out_channels", channels);
        c.set("down_block_types", down);
        c.set("up_block_types", up);
        c.put("layers_per_block", layers.size());
        return c;
    }

    private OptionalInt dim(String key, int axis) {
        TensorInfo t = infos.get(key);
        return t == null || t.shape().length <= axis ? OptionalInt.empty() : OptionalInt.of(Math.toIntExact(t.shape()[axis]));
    }

    private boolean hasPrefix(String prefix) {
        return infos.keySet().stream().anyMatch(k -> k.startsWith(prefix));
    }

    private TreeSet<Integer> indices(Pattern p) {
        TreeSet<Integer> out = new TreeSet<>();
        for (String k : infos.keySet()) {
            Matcher m = p.matcher(k);
            if (m.matches()) out.add(Integer.parseInt(m.group(1)));
        }
        return out;
    }
}

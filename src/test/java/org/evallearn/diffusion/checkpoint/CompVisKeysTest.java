package org.evallearn.diffusion.checkpoint;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.evallearn.diffusion.checkpoint.CompVisKeys.UNetLayout;
import org.evallearn.diffusion.checkpoint.CompVisKeys.VaeLayout;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;
import org.junit.jupiter.api.Test;

class CompVisKeysTest {
    static final UNetLayout SD1_UNET = UNetLayout.of(new ConfigFile("sd1 unet", Sd1Configs.unet()));
    static final VaeLayout SD1_VAE = VaeLayout.of(new ConfigFile("sd1 vae", Sd1Configs.vae()));

    @Test
    void sd1LayoutsFromTheDefaultConfigs() {
        assertEquals(new UNetLayout(4, 2, List.of(false, true, true, true)), SD1_UNET);
        assertEquals(new VaeLayout(4, 2), SD1_VAE);
    }

    /** Expected names worked out by hand from diffusers v0.21.4 convert_ldm_unet_checkpoint. */
    @Test
    void unetKeysFollowTheReferenceConversion() {
        Map<String, String> expected = Map.ofEntries(
                Map.entry("time_embedding.linear_1.weight", "time_embed.0.weight"),
                Map.entry("time_embedding.linear_2.bias", "time_embed.2.bias"),
                Map.entry("conv_in.weight", "input_blocks.0.0.weight"),
                Map.entry("conv_norm_out.bias", "out.0.bias"),
                Map.entry("conv_out.weight", "out.2.weight"),
                Map.entry("down_blocks.0.resnets.0.norm1.weight", "input_blocks.1.0.in_layers.0.weight"),
                Map.entry("down_blocks.0.resnets.1.conv1.bias", "input_blocks.2.0.in_layers.2.bias"),
                Map.entry("down_blocks.0.downsamplers.0.conv.weight", "input_blocks.3.0.op.weight"),
                Map.entry("down_blocks.1.resnets.0.conv_shortcut.weight", "input_blocks.4.0.skip_connection.weight"),
                Map.entry("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight",
                        "input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight"),
                Map.entry("down_blocks.1.attentions.1.proj_in.weight", "input_blocks.5.1.proj_in.weight"),
                Map.entry("down_blocks.2.downsamplers.0.conv.bias", "input_blocks.9.0.op.bias"),
                Map.entry("down_blocks.3.resnets.1.time_emb_proj.bias", "input_blocks.11.0.emb_layers.1.bias"),
                Map.entry("mid_block.resnets.0.norm2.weight", "middle_block.0.out_layers.0.weight"),
                Map.entry("mid_block.attentions.0.proj_in.weight", "middle_block.1.proj_in.weight"),
                Map.entry("mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight",
                        "middle_block.1.transformer_blocks.0.ff.net.0.proj.weight"),
                Map.entry("mid_block.resnets.1.conv2.weight", "middle_block.2.out_layers.3.weight"),
                Map.entry("up_blocks.0.resnets.0.conv_shortcut.bias", "output_blocks.0.0.skip_connection.bias"),
                Map.entry("up_blocks.0.resnets.2.conv1.weight", "output_blocks.2.0.in_layers.2.weight"),
                Map.entry("up_blocks.0.upsamplers.0.conv.weight", "output_blocks.2.1.conv.weight"),
                Map.entry("up_blocks.1.attentions.0.norm.weight", "output_blocks.3.1.norm.weight"),
                Map.entry("up_blocks.1.upsamplers.0.conv.weight", "output_blocks.5.2.conv.weight"),
                Map.entry("up_blocks.2.upsamplers.0.conv.bias", "output_blocks.8.2.conv.bias"),
                Map.entry("up_blocks.3.attentions.2.proj_out.bias", "output_blocks.11.1.proj_out.bias"),
                Map.entry("up_blocks.3.resnets.2.time_emb_proj.weight", "output_blocks.11.0.emb_layers.1.weight"));
        expected.forEach((diffusers, compvis) ->
                assertEquals("model.diffusion_model." + compvis, CompVisKeys.unet(SD1_UNET, diffusers), diffusers));
    }

    @Test
    void unetKeysOutsideTheLayoutHaveNoCounterpart() {
        for (String k : List.of("down_blocks.3.downsamplers.0.conv.weight", "up_blocks.3.upsamplers.0.conv.weight",
                "down_blocks.0.resnets.2.norm1.weight", "up_blocks.0.resnets.3.norm1.weight", "down_blocks.4.resnets.0.norm1.weight",
                "mid_block.resnets.2.norm1.weight", "down_blocks.0.resnets.0.nonsense.weight", "class_embedding.linear_1.weight")) {
            assertNull(CompVisKeys.unet(SD1_UNET, k), k);
        }
    }

    /** Expected names worked out by hand from diffusers v0.21.4 convert_ldm_vae_checkpoint. */
    @Test
    void vaeKeysFollowTheReferenceConversion() {
        Map<String, String> expected = Map.ofEntries(
                Map.entry("encoder.conv_in.weight", "encoder.conv_in.weight"),
                Map.entry("encoder.conv_norm_out.bias", "encoder.norm_out.bias"),
                Map.entry("encoder.down_blocks.0.resnets.1.conv2.weight", "encoder.down.0.block.1.conv2.weight"),
                Map.entry("encoder.down_blocks.1.resnets.0.conv_shortcut.weight", "encoder.down.1.block.0.nin_shortcut.weight"),
                Map.entry("encoder.down_blocks.2.downsamplers.0.conv.weight", "encoder.down.2.downsample.conv.weight"),
                Map.entry("encoder.mid_block.resnets.1.norm1.bias", "encoder.mid.block_2.norm1.bias"),
                Map.entry("encoder.mid_block.attentions.0.to_q.weight", "encoder.mid.attn_1.q.weight"),
                Map.entry("encoder.mid_block.attentions.0.to_out.0.bias", "encoder.mid.attn_1.proj_out.bias"),
                Map.entry("quant_conv.weight", "quant_conv.weight"),
                Map.entry("post_quant_conv.bias", "post_quant_conv.bias"),
                Map.entry("decoder.conv_in.bias", "decoder.conv_in.bias"),
                Map.entry("decoder.mid_block.attentions.0.group_norm.weight", "decoder.mid.attn_1.norm.weight"),
                Map.entry("decoder.mid_block.attentions.0.to_v.bias", "decoder.mid.attn_1.v.bias"),
                Map.entry("decoder.mid_block.resnets.0.conv1.weight", "decoder.mid.block_1.conv1.weight"),
                Map.entry("decoder.up_blocks.0.resnets.0.conv1.weight", "decoder.up.3.block.0.conv1.weight"),
                Map.entry("decoder.up_blocks.0.upsamplers.0.conv.weight", "decoder.up.3.upsample.conv.weight"),
                Map.entry("decoder.up_blocks.2.resnets.0.conv_shortcut.bias", "decoder.up.1.block.0.nin_shortcut.bias"),
                Map.entry("decoder.up_blocks.3.resnets.2.norm2.bias", "decoder.up.0.block.2.norm2.bias"),
                Map.entry("decoder.conv_norm_out.weight", "decoder.norm_out.weight"),
                Map.entry("decoder.conv_out.weight", "decoder.conv_out.weight"));
        expected.forEach((diffusers, compvis) ->
                assertEquals("first_stage_model." + compvis, CompVisKeys.vae(SD1_VAE, diffusers), diffusers));
        for (String k : List.of("decoder.up_blocks.3.upsamplers.0.conv.weight", "encoder.down_blocks.3.downsamplers.0.conv.weight",
                "encoder.down_blocks.0.resnets.2.norm1.weight", "decoder.up_blocks.0.resnets.3.norm1.weight",
                "encoder.mid_block.attentions.0.query.weight", "encoder.mid_block.attentions.1.to_q.weight")) {
            assertNull(CompVisKeys.vae(SD1_VAE, k), k);
        }
    }

    @Test
    void textEncoderKeysTryBothNestings() {
        assertEquals(List.of("cond_stage_model.transformer.text_model.encoder.layers.3.mlp.fc1.weight",
                        "cond_stage_model.transformer.encoder.layers.3.mlp.fc1.weight"),
                CompVisKeys.textEncoder("text_model.encoder.layers.3.mlp.fc1.weight"));
        assertEquals(List.of("cond_stage_model.transformer.text_projection.weight"), CompVisKeys.textEncoder("text_projection.weight"));
    }

    @Test
    void unetMappingIsOneToOneOverTheWholeSd1KeySet() {
        List<String> keys = sd1UnetKeys();
        // SD 1.5's UNet has 686 tensors; 8 of the 22 generated resnets get a shortcut it lacks.
        assertEquals(686 + 8 * 2, keys.size());
        assertOneToOne(keys, k -> CompVisKeys.unet(SD1_UNET, k), "model.diffusion_model.");
    }

    @Test
    void vaeMappingIsOneToOneOverTheWholeSd1KeySet() {
        List<String> keys = sd1VaeKeys();
        // SD 1.x's VAE has 248 tensors; 20 of the 24 generated resnets get a shortcut it lacks.
        assertEquals(248 + 20 * 2, keys.size());
        assertOneToOne(keys, k -> CompVisKeys.vae(SD1_VAE, k), "first_stage_model.");
    }

    @Test
    void unetLayoutRejectsBlockTypesItCannotNumber() {
        var config = Sd1Configs.unet();
        config.putArray("up_block_types").add("UpBlock2D").add("SimpleCrossAttnUpBlock2D").add("UpBlock2D").add("UpBlock2D");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> UNetLayout.of(new ConfigFile("cfg", config)));
        assertTrue(e.getMessage().contains("SimpleCrossAttnUpBlock2D"), e.getMessage());
    }

    private static void assertOneToOne(List<String> keys, java.util.function.Function<String, String> map, String prefix) {
        Map<String, String> byFileKey = new HashMap<>();
        for (String k : keys) {
            String f = map.apply(k);
            assertNotNull(f, "no CompVis key for " + k);
            assertTrue(f.startsWith(prefix), f);
            String other = byFileKey.put(f, k);
            assertNull(other, k + " and " + other + " both map to " + f);
        }
    }

    // The parameter keys of diffusers' UNet2DConditionModel / AutoencoderKL for SD 1.x. Every
    // resnet is given a conv_shortcut: more keys than the model has, so collisions cannot hide.

    static List<String> sd1UnetKeys() {
        List<String> k = new ArrayList<>();
        for (String m : List.of("time_embedding.linear_1", "time_embedding.linear_2", "conv_in", "conv_norm_out", "conv_out")) wb(k, m);
        for (int b = 0; b < 4; b++) {
            for (int l = 0; l < 2; l++) {
                unetResnet(k, "down_blocks." + b + ".resnets." + l);
                if (b < 3) transformer(k, "down_blocks." + b + ".attentions." + l);
            }
            if (b < 3) wb(k, "down_blocks." + b + ".downsamplers.0.conv");
        }
        unetResnet(k, "mid_block.resnets.0");
        transformer(k, "mid_block.attentions.0");
        unetResnet(k, "mid_block.resnets.1");
        for (int b = 0; b < 4; b++) {
            for (int l = 0; l < 3; l++) {
                unetResnet(k, "up_blocks." + b + ".resnets." + l);
                if (b > 0) transformer(k, "up_blocks." + b + ".attentions." + l);
            }
            if (b < 3) wb(k, "up_blocks." + b + ".upsamplers.0.conv");
        }
        return k;
    }

    static List<String> sd1VaeKeys() {
        List<String> k = new ArrayList<>();
        for (String m : List.of("encoder.conv_in", "encoder.conv_norm_out", "encoder.conv_out", "quant_conv", "post_quant_conv",
                "decoder.conv_in", "decoder.conv_norm_out", "decoder.conv_out")) wb(k, m);
        for (String side : List.of("encoder", "decoder")) {
            for (int i = 0; i < 2; i++) vaeResnet(k, side + ".mid_block.resnets." + i);
            for (String m : List.of("group_norm", "to_q", "to_k", "to_v", "to_out.0")) wb(k, side + ".mid_block.attentions.0." + m);
        }
        for (int b = 0; b < 4; b++) {
            for (int l = 0; l < 2; l++) vaeResnet(k, "encoder.down_blocks." + b + ".resnets." + l);
            if (b < 3) wb(k, "encoder.down_blocks." + b + ".downsamplers.0.conv");
            for (int l = 0; l < 3; l++) vaeResnet(k, "decoder.up_blocks." + b + ".resnets." + l);
            if (b < 3) wb(k, "decoder.up_blocks." + b + ".upsamplers.0.conv");
        }
        return k;
    }

    private static void unetResnet(List<String> k, String p) {
        for (String m : List.of("norm1", "conv1", "time_emb_proj", "norm2", "conv2", "conv_shortcut")) wb(k, p + "." + m);
    }

    private static void vaeResnet(List<String> k, String p) {
        for (String m : List.of("norm1", "conv1", "norm2", "conv2", "conv_shortcut")) wb(k, p + "." + m);
    }

    private static void transformer(List<String> k, String p) {
        for (String m : List.of("norm", "proj_in", "proj_out")) wb(k, p + "." + m);
        String t = p + ".transformer_blocks.0.";
        for (String m : List.of("norm1", "norm2", "norm3", "attn1.to_out.0", "attn2.to_out.0", "ff.net.0.proj", "ff.net.2")) wb(k, t + m);
        for (String a : List.of("attn1", "attn2")) for (String q : List.of("to_q", "to_k", "to_v")) k.add(t + a + "." + q + ".weight");
    }

    private static void wb(List<String> k, String module) {
        k.add(module + ".weight");
        k.add(module + ".bias");
    }
}

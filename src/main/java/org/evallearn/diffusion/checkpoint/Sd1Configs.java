package org.evallearn.diffusion.checkpoint;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The configs of Stable Diffusion 1.x in diffusers/transformers field names, for single-file
 * checkpoints that come without config files: what diffusers v0.21.4 convert_from_ckpt.py
 * ({@code create_unet_diffusers_config}, {@code create_vae_diffusers_config}) derives from the
 * original {@code v1-inference.yaml} at 512 px, and the CLIP ViT-L/14 text config it loads
 * ({@code openai/clip-vit-large-patch14}). Each call returns a fresh node the caller may edit.
 */
public final class Sd1Configs {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private Sd1Configs() {}

    /** v1-inference.yaml unet_config: model_channels 320 × channel_mult (1, 2, 4, 4), attention at 4, 2, 1. */
    public static ObjectNode unet() {
        ObjectNode c = JSON.objectNode();
        c.put("_class_name", "UNet2DConditionModel");
        c.put("sample_size", 64); // 512 px / VAE scale factor 8
        c.put("in_channels", 4);
        c.put("out_channels", 4);
        c.putArray("down_block_types").add("CrossAttnDownBlock2D").add("CrossAttnDownBlock2D").add("CrossAttnDownBlock2D").add("DownBlock2D");
        c.putArray("up_block_types").add("UpBlock2D").add("CrossAttnUpBlock2D").add("CrossAttnUpBlock2D").add("CrossAttnUpBlock2D");
        c.putArray("block_out_channels").add(320).add(640).add(1280).add(1280);
        c.put("layers_per_block", 2);
        c.put("attention_head_dim", 8); // num_heads of the yaml: a head count, despite the name
        c.put("cross_attention_dim", 768);
        c.put("transformer_layers_per_block", 1);
        c.put("use_linear_projection", false);
        c.put("norm_num_groups", 32);
        c.put("norm_eps", 1e-5);
        c.put("act_fn", "silu");
        c.put("flip_sin_to_cos", true);
        c.put("freq_shift", 0);
        c.put("downsample_padding", 1);
        c.put("mid_block_scale_factor", 1);
        c.put("center_input_sample", false);
        return c;
    }

    /** v1-inference.yaml first_stage_config: ch 128 × ch_mult (1, 2, 4, 4), z_channels 4, scale_factor 0.18215. */
    public static ObjectNode vae() {
        ObjectNode c = JSON.objectNode();
        c.put("_class_name", "AutoencoderKL");
        c.put("sample_size", 512);
        c.put("in_channels", 3);
        c.put("out_channels", 3);
        c.putArray("down_block_types").add("DownEncoderBlock2D").add("DownEncoderBlock2D").add("DownEncoderBlock2D").add("DownEncoderBlock2D");
        c.putArray("up_block_types").add("UpDecoderBlock2D").add("UpDecoderBlock2D").add("UpDecoderBlock2D").add("UpDecoderBlock2D");
        c.putArray("block_out_channels").add(128).add(256).add(512).add(512);
        c.put("layers_per_block", 2);
        c.put("latent_channels", 4);
        c.put("norm_num_groups", 32);
        c.put("act_fn", "silu");
        c.put("scaling_factor", 0.18215);
        return c;
    }

    /**
     * The text half of openai/clip-vit-large-patch14, as in stable-diffusion-v1-5's
     * text_encoder/config.json (token ids 0/2/1 included: that config's legacy values).
     */
    public static ObjectNode textEncoder() {
        ObjectNode c = JSON.objectNode();
        c.putArray("architectures").add("CLIPTextModel");
        c.put("model_type", "clip_text_model");
        c.put("vocab_size", 49408);
        c.put("hidden_size", 768);
        c.put("intermediate_size", 3072);
        c.put("projection_dim", 768);
        c.put("num_hidden_layers", 12);
        c.put("num_attention_heads", 12);
        c.put("max_position_embeddings", 77);
        c.put("hidden_act", "quick_gelu");
        c.put("layer_norm_eps", 1e-5);
        c.put("attention_dropout", 0.0);
        c.put("dropout", 0.0);
        c.put("bos_token_id", 0);
        c.put("eos_token_id", 2);
        c.put("pad_token_id", 1);
        return c;
    }

    /**
     * SD 1.x's scheduler_config.json: PNDM with PLMS steps only, the default of diffusers v0.21.4
     * {@code download_from_original_stable_diffusion_ckpt} and what the diffusers folders ship.
     */
    public static ObjectNode scheduler() {
        ObjectNode c = JSON.objectNode();
        c.put("_class_name", "PNDMScheduler");
        c.put("_diffusers_version", "0.21.4");
        c.put("beta_end", 0.012);
        c.put("beta_schedule", "scaled_linear");
        c.put("beta_start", 0.00085);
        c.put("clip_sample", false);
        c.put("num_train_timesteps", 1000);
        c.put("set_alpha_to_one", false);
        c.put("skip_prk_steps", true);
        c.put("steps_offset", 1);
        c.putNull("trained_betas");
        return c;
    }
}

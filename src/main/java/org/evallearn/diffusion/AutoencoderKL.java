package org.evallearn.diffusion;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Conv2d;
import org.evallearn.tensor.Model;
import org.evallearn.tensor.ModelLoader;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.Scope;

/**
 * Stable Diffusion's VAE, diffusers v0.21.4 {@code AutoencoderKL} (autoencoder_kl.py): images to
 * a latent Gaussian and latents back to images. Field paths are the state-dict keys.
 */
public final class AutoencoderKL extends Model {
    private static final Pattern ATTENTION_PARAM =
            Pattern.compile("(.*\\.attentions\\.\\d+\\.)(to_q|to_k|to_v|to_out\\.0)(\\.(?:weight|bias))");

    public final AutoencoderKLConfig config;
    public final Encoder encoder;
    public final Decoder decoder;
    public final Conv2d quant_conv;
    public final Conv2d post_quant_conv;

    public AutoencoderKL(AutoencoderKLConfig cfg, Params p) {
        this.config = cfg;
        long latent = cfg.latentChannels();
        this.encoder = new Encoder(p.at("encoder"), cfg);
        this.decoder = new Decoder(p.at("decoder"), cfg);
        this.quant_conv = new Conv2d(p.at("quant_conv"), 2 * latent, 2 * latent, 1, 1, 0);
        this.post_quant_conv = new Conv2d(p.at("post_quant_conv"), latent, latent, 1, 1, 0);
    }

    /**
     * Loads {@code dir/config.json} and the weights strictly. VAE files written before diffusers
     * 0.14 (e.g. CompVis/stable-diffusion-v1-4) name the attention projections
     * {@code query/key/value/proj_attn}; those load too.
     */
    public static AutoencoderKL load(Path dir, String variant, Placement placement) {
        AutoencoderKLConfig cfg = AutoencoderKLConfig.read(dir);
        return ModelLoader.load(dir, "diffusion_pytorch_model", variant, placement, AutoencoderKL::legacyNames,
                k -> false, "AutoencoderKL", p -> new AutoencoderKL(cfg, p));
    }

    /** A model on random weights; {@code binder.tensors()} then holds them under their state-dict keys. */
    public static AutoencoderKL random(AutoencoderKLConfig cfg, RandomBinder binder) {
        return ModelLoader.random(binder, p -> new AutoencoderKL(cfg, p));
    }

    /**
     * The pre-0.14 spelling of an attention key, as diffusers' {@code _convert_deprecated_attention_blocks}
     * (modeling_utils.py) maps it: to_q → query, to_k → key, to_v → value, to_out.0 → proj_attn.
     */
    public static List<String> legacyNames(String key) {
        Matcher m = ATTENTION_PARAM.matcher(key);
        if (!m.matches()) return List.of();
        String old = switch (m.group(2)) {
            case "to_q" -> "query";
            case "to_k" -> "key";
            case "to_v" -> "value";
            default -> "proj_attn";
        };
        return List.of(m.group(1) + old + m.group(3));
    }

    /** {@code config.scaling_factor}: latents are divided by it before {@link #decode}. */
    public double scalingFactor() {
        return config.scalingFactor();
    }

    /** @param image [B, in_channels, H, W] in [-1, 1] */
    public Posterior encode(Tensor image) {
        checkOpen();
        try (Scope s = Scope.open()) {
            Tensor moments = quant_conv.forward(encoder.forward(image));
            long latent = config.latentChannels();
            // narrow, not chunk: TensorVector.get returns a reference into the vector, which dies with this scope
            Tensor mean = moments.narrow(1, 0, latent);
            Tensor logvar = moments.narrow(1, latent, latent)
                    .clamp(new ScalarOptional(new Scalar(-30.0)), new ScalarOptional(new Scalar(20.0)));
            return new Posterior(s.handUp(mean), s.handUp(logvar));
        }
    }

    /**
     * The raw decoder output (about [-1, 1]); {@code post_quant_conv} is applied here.
     *
     * @param z latents already divided by {@link #scalingFactor()}, [B, latent_channels, h, w]
     */
    public Tensor decode(Tensor z) {
        checkOpen();
        try (Scope s = Scope.open()) {
            return s.handUp(decoder.forward(post_quant_conv.forward(z)));
        }
    }
}

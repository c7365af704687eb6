package org.evallearn.diffusion;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.nn.Conv2d;
import org.evallearn.nn.GroupNorm;
import org.evallearn.tensor.Model;
import org.evallearn.tensor.ModelLoader;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.Scope;

/**
 * The Stable Diffusion 1.x / 2.x denoiser, diffusers v0.21.4 {@code UNet2DConditionModel}
 * (unet_2d_condition.py) restricted to what those checkpoints use (see {@link UNetConfig}).
 * Field paths are the state-dict keys.
 */
public final class UNet2DConditionModel extends Model {
    public final UNetConfig config;
    public final Conv2d conv_in;
    public final Timesteps time_proj;
    public final TimestepEmbedding time_embedding;
    public final List<UNetDownBlock> down_blocks = new ArrayList<>();
    public final UNetMidBlock2DCrossAttn mid_block;
    public final List<UNetUpBlock> up_blocks = new ArrayList<>();
    public final GroupNorm conv_norm_out;
    public final Conv2d conv_out;

    public UNet2DConditionModel(UNetConfig cfg, Params p) {
        this.config = cfg;
        List<Integer> ch = cfg.blockOutChannels();
        int n = ch.size();
        this.conv_in = new Conv2d(p.at("conv_in"), cfg.inChannels(), ch.get(0), 3, 1, 1);
        this.time_proj = new Timesteps(ch.get(0), cfg.flipSinToCos(), cfg.freqShift());
        this.time_embedding = new TimestepEmbedding(p.at("time_embedding"), ch.get(0), cfg.timeEmbedDim());

        for (int i = 0; i < n; i++) {
            Params bp = p.at("down_blocks").at(i);
            int in = ch.get(Math.max(i - 1, 0)), out = ch.get(i);
            boolean downsample = i < n - 1;
            down_blocks.add(cfg.downBlockTypes().get(i).equals(UNetConfig.CROSS_ATTN_DOWN)
                    ? new CrossAttnDownBlock2D(bp, cfg, in, out, cfg.attentionHeads().get(i), downsample)
                    : new DownBlock2D(bp, cfg, in, out, downsample));
        }

        this.mid_block = new UNetMidBlock2DCrossAttn(p.at("mid_block"), cfg, ch.get(n - 1), cfg.attentionHeads().get(n - 1));

        // The up path mirrors the down path: block i works at reversed channels[i] and takes the
        // skip states of down block n-1-i, whose input had reversed channels[i+1].
        int out = ch.get(n - 1);
        for (int i = 0; i < n; i++) {
            Params bp = p.at("up_blocks").at(i);
            int prevOut = out;
            out = ch.get(n - 1 - i);
            int in = ch.get(Math.max(n - 2 - i, 0));
            int heads = cfg.attentionHeads().get(n - 1 - i);
            boolean upsample = i < n - 1;
            up_blocks.add(cfg.upBlockTypes().get(i).equals(UNetConfig.CROSS_ATTN_UP)
                    ? new CrossAttnUpBlock2D(bp, cfg, in, out, prevOut, heads, upsample)
                    : new UpBlock2D(bp, cfg, in, out, prevOut, upsample));
        }

        this.conv_norm_out = new GroupNorm(p.at("conv_norm_out"), cfg.normNumGroups(), ch.get(0), cfg.normEps());
        this.conv_out = new Conv2d(p.at("conv_out"), ch.get(0), cfg.outChannels(), 3, 1, 1);
    }

    /** Loads {@code dir/config.json} and the weights strictly (every key used, every shape right). */
    public static UNet2DConditionModel load(Path dir, String variant, Placement placement) {
        UNetConfig cfg = UNetConfig.read(dir);
        return ModelLoader.load(dir, "diffusion_pytorch_model", variant, placement, k -> List.of(), k -> false,
                "UNet2DConditionModel", p -> new UNet2DConditionModel(cfg, p));
    }

    /** A model on random weights; {@code binder.tensors()} then holds them under their state-dict keys. */
    public static UNet2DConditionModel random(UNetConfig cfg, RandomBinder binder) {
        return ModelLoader.random(binder, p -> new UNet2DConditionModel(cfg, p));
    }

    /**
     * Predicts the noise (or v) in {@code sample}.
     *
     * @param sample [B, in_channels, H, W] in the model's dtype
     * @param timestep int64 (or float) [B], [1] or a scalar, broadcast to the batch
     * @param encoderHiddenStates [B, M, cross_attention_dim]
     * @return [B, out_channels, H, W]
     */
    public Tensor forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates) {
        checkOpen();
        try (Scope s = Scope.open()) {
            long batch = sample.size(0);
            Tensor t = timestep.dim() == 0 ? timestep.reshape(1) : timestep;
            if (t.dim() != 1 || (t.size(0) != batch && t.size(0) != 1)) {
                throw new IllegalArgumentException("timestep must be a scalar, [1] or [" + batch + "], got "
                        + java.util.Arrays.toString(timestep.shape()));
            }
            t = t.to(sample.device(), t.scalar_type()).expand(batch);
            // The sinusoid is computed in fp32 and only then cast to the model dtype, as diffusers does.
            Tensor emb = time_embedding.forward(time_proj.forward(t).to(sample.scalar_type()));

            Tensor h = conv_in.forward(sample);
            List<Tensor> skips = new ArrayList<>();
            skips.add(h);
            for (UNetDownBlock block : down_blocks) h = block.forward(h, emb, encoderHiddenStates, skips);
            h = mid_block.forward(h, emb, encoderHiddenStates);
            for (UNetUpBlock block : up_blocks) h = block.forward(h, skips, emb, encoderHiddenStates);
            h = conv_out.forward(Activation.SILU.apply(conv_norm_out.forward(h)));
            return s.handUp(h);
        }
    }
}

package org.evallearn.diffusion;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Conv2d;
import org.evallearn.nn.GroupNorm;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * diffusers {@code Transformer2DModel} for continuous input (transformer_2d.py): GroupNorm,
 * {@code proj_in} to tokens, {@code transformer_blocks}, {@code proj_out} back to the feature map,
 * plus the input. SD 1.x projects with 1×1 convolutions, SD 2.x with Linear layers
 * ({@code use_linear_projection}); exactly one of the two pairs is non-null.
 */
public final class Transformer2DModel {
    public final GroupNorm norm;
    public final Conv2d proj_in_conv;
    public final Linear proj_in_linear;
    public final List<BasicTransformerBlock> transformer_blocks = new ArrayList<>();
    public final Conv2d proj_out_conv;
    public final Linear proj_out_linear;

    public Transformer2DModel(Params p, long channels, long heads, UNetConfig cfg) {
        if (channels % heads != 0) {
            throw new IllegalArgumentException(p.prefix() + ": " + channels + " channels do not split into " + heads + " heads");
        }
        long headDim = channels / heads;
        this.norm = new GroupNorm(p.at("norm"), cfg.normNumGroups(), channels, 1e-6);
        boolean linear = cfg.useLinearProjection();
        this.proj_in_conv = linear ? null : new Conv2d(p.at("proj_in"), channels, channels, 1, 1, 0);
        this.proj_in_linear = linear ? new Linear(p.at("proj_in"), channels, channels, true) : null;
        AttentionKernel kernel = AttentionKernel.forUpcast(cfg.upcastAttention());
        for (int i = 0; i < cfg.transformerLayersPerBlock(); i++) {
            transformer_blocks.add(new BasicTransformerBlock(p.at("transformer_blocks").at(i), channels, heads, headDim,
                    cfg.crossAttentionDim(), kernel));
        }
        this.proj_out_conv = linear ? null : new Conv2d(p.at("proj_out"), channels, channels, 1, 1, 0);
        this.proj_out_linear = linear ? new Linear(p.at("proj_out"), channels, channels, true) : null;
    }

    /** @param x [B, C, H, W]; @param context [B, M, cross_attention_dim] */
    public Tensor forward(Tensor x, Tensor context) {
        try (Scope s = Scope.open()) {
            long b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
            Tensor t = norm.forward(x);
            // Same order as diffusers: the conv variant projects before flattening, the linear one after.
            t = proj_in_conv != null
                    ? toTokens(proj_in_conv.forward(t), b, c, h, w)
                    : proj_in_linear.forward(toTokens(t, b, c, h, w));
            for (BasicTransformerBlock block : transformer_blocks) t = block.forward(t, context);
            t = proj_out_conv != null
                    ? proj_out_conv.forward(toMap(t, b, c, h, w))
                    : toMap(proj_out_linear.forward(t), b, c, h, w);
            return s.handUp(t.add(x));
        }
    }

    private static Tensor toTokens(Tensor t, long b, long c, long h, long w) {
        return t.permute(0, 2, 3, 1).reshape(b, h * w, c);
    }

    private static Tensor toMap(Tensor t, long b, long c, long h, long w) {
        return t.reshape(b, h, w, c).permute(0, 3, 1, 2).contiguous();
    }
}

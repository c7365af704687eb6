package org.evallearn.diffusion;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.GroupNorm;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * The VAE mid-block attention: diffusers {@code Attention} built from the deprecated attention
 * block (unet_2d_blocks.py {@code UNetMidBlock2D}, vae.py): {@code group_norm}, one head over all
 * channels, {@code to_q/to_k/to_v/to_out.0} with bias, the input added back. The VAE builds it
 * with {@code rescale_output_factor=1}, so there is no division.
 */
public final class SpatialSelfAttention {
    public final GroupNorm group_norm;
    public final Linear to_q;
    public final Linear to_k;
    public final Linear to_v;
    public final Linear to_out_0;

    public SpatialSelfAttention(Params p, long channels, long groups, double eps) {
        this.group_norm = new GroupNorm(p.at("group_norm"), groups, channels, eps);
        this.to_q = new Linear(p.at("to_q"), channels, channels, true);
        this.to_k = new Linear(p.at("to_k"), channels, channels, true);
        this.to_v = new Linear(p.at("to_v"), channels, channels, true);
        this.to_out_0 = new Linear(p.at("to_out").at(0), channels, channels, true);
    }

    /** @param x [B, C, H, W] */
    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            long b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
            Tensor tokens = group_norm.forward(x).view(b, c, h * w).transpose(1, 2);
            // [B, 1, HW, C]: a single head
            Tensor q = to_q.forward(tokens).unsqueeze(1);
            Tensor k = to_k.forward(tokens).unsqueeze(1);
            Tensor v = to_v.forward(tokens).unsqueeze(1);
            Tensor attn = AttentionKernel.FUSED.apply(q, k, v).squeeze(1);
            Tensor out = to_out_0.forward(attn).transpose(1, 2).reshape(b, c, h, w);
            return s.handUp(out.add(x));
        }
    }
}

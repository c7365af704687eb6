package org.evallearn.diffusion;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.LayerNorm;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * diffusers {@code BasicTransformerBlock} (attention.py) as Stable Diffusion configures it:
 * pre-LayerNorm self-attention, cross-attention on the text states and a GEGLU feed-forward,
 * each added to the residual stream.
 */
public final class BasicTransformerBlock {
    public final LayerNorm norm1;
    public final Attention attn1;
    public final LayerNorm norm2;
    public final Attention attn2;
    public final LayerNorm norm3;
    public final FeedForward ff;

    public BasicTransformerBlock(Params p, long dim, long heads, long headDim, long crossAttentionDim, AttentionKernel kernel) {
        this.norm1 = new LayerNorm(p.at("norm1"), dim, 1e-5);
        this.attn1 = new Attention(p.at("attn1"), dim, dim, heads, headDim, kernel);
        this.norm2 = new LayerNorm(p.at("norm2"), dim, 1e-5);
        this.attn2 = new Attention(p.at("attn2"), dim, crossAttentionDim, heads, headDim, kernel);
        this.norm3 = new LayerNorm(p.at("norm3"), dim, 1e-5);
        this.ff = new FeedForward(p.at("ff"), dim);
    }

    /** @param x [B, N, dim]; @param context [B, M, crossAttentionDim] */
    public Tensor forward(Tensor x, Tensor context) {
        try (Scope s = Scope.open()) {
            Tensor h = attn1.forward(norm1.forward(x), null).add(x);
            h = attn2.forward(norm2.forward(h), context).add(h);
            h = ff.forward(norm3.forward(h)).add(h);
            return s.handUp(h);
        }
    }
}

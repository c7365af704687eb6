package org.evallearn.clip;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** transformers' {@code CLIPAttention}: multi-head self-attention with separate q/k/v/out projections. */
final class ClipAttention {
    final Linear qProj;
    final Linear kProj;
    final Linear vProj;
    final Linear outProj;
    private final long heads;
    private final long headDim;

    ClipAttention(Params p, EncoderSpec spec) {
        this.kProj = new Linear(p.at("k_proj"), spec.hidden(), spec.hidden(), true);
        this.vProj = new Linear(p.at("v_proj"), spec.hidden(), spec.hidden(), true);
        this.qProj = new Linear(p.at("q_proj"), spec.hidden(), spec.hidden(), true);
        this.outProj = new Linear(p.at("out_proj"), spec.hidden(), spec.hidden(), true);
        this.heads = spec.heads();
        this.headDim = spec.hidden() / spec.heads();
    }

    /** @param causal the text tower's mask: a token sees itself and the tokens before it */
    Tensor forward(Tensor x, boolean causal) {
        try (Scope s = Scope.open()) {
            long[] shape = x.shape();
            long b = shape[0], n = shape[1];
            // Default SDPA scale is head_dim^-0.5, the reference's self.scale.
            Tensor out = torch.scaled_dot_product_attention(heads(qProj.forward(x), b, n), heads(kProj.forward(x), b, n),
                    heads(vProj.forward(x), b, n), new TensorOptional(), 0.0, causal, new DoubleOptional(), false);
            return s.handUp(outProj.forward(out.transpose(1, 2).reshape(b, n, heads * headDim)));
        }
    }

    /** (b, n, hidden) → (b, heads, n, head_dim) */
    private Tensor heads(Tensor t, long b, long n) {
        return t.view(b, n, heads, headDim).transpose(1, 2);
    }
}

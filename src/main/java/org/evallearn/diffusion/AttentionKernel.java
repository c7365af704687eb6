package org.evallearn.diffusion;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * How softmax(q·kᵀ/√d)·v is computed on head-split tensors [B, heads, N, d]. SD 2.1 sets
 * {@code upcast_attention} because its fp16 scores overflow. In diffusers v0.21.4 the flag acts
 * only through {@code AttnProcessor} (torch &lt; 2, which made the golden fixtures):
 * {@code Attention.get_attention_scores} casts q and k to fp32. {@code AttnProcessor2_0} (torch ≥ 2)
 * ignores it and calls {@code scaled_dot_product_attention}, whose fp16 kernels accumulate in fp32
 * anyway. We take the fused kernel unless the flag is set, then AttnProcessor's upcast; in fp32 the
 * two agree to rounding.
 */
public enum AttentionKernel {
    /** {@code torch.scaled_dot_product_attention} in the tensors' own dtype. */
    FUSED {
        @Override
        public Tensor apply(Tensor q, Tensor k, Tensor v) {
            return torch.scaled_dot_product_attention(q, k, v);
        }
    },
    /**
     * Scores and softmax in fp32, probabilities cast back before multiplying with v: diffusers
     * {@code Attention.get_attention_scores} with {@code upcast_attention} (attention_processor.py).
     */
    UPCAST {
        @Override
        public Tensor apply(Tensor q, Tensor k, Tensor v) {
            double scale = 1.0 / Math.sqrt(q.size(-1));
            Tensor scores = q.to(ScalarType.Float).matmul(k.to(ScalarType.Float).transpose(-1, -2)).mul(new Scalar(scale));
            Tensor probs = scores.softmax(-1).to(v.scalar_type());
            return probs.matmul(v);
        }
    };

    public abstract Tensor apply(Tensor q, Tensor k, Tensor v);

    public static AttentionKernel forUpcast(boolean upcastAttention) {
        return upcastAttention ? UPCAST : FUSED;
    }
}

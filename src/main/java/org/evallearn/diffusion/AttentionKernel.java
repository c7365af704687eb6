package org.evallearn.diffusion;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * How softmax(q·kᵀ/√d)·v is computed on head-split tensors [B, heads, N, d]. SD 2.1 sets
 * {@code upcast_attention} because its fp16 scores overflow; every other model takes torch's
 * fused kernel, as diffusers' {@code AttnProcessor2_0} does.
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

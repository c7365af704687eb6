package org.evallearn.nn;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Scope;

/**
 * softmax(q·kᵀ/√head_dim + mask)·v over {@code heads} heads, the core of BERT-family self-attention
 * (transformers' BertSelfAttention, DistilBERT's MultiHeadSelfAttention, ViTSelfAttention), on
 * libtorch's fused scaled_dot_product_attention.
 */
public final class MultiHeadAttention {
    private MultiHeadAttention() {}

    /**
     * @param q (batch, n, hidden) projected queries; {@code k}, {@code v} the same for keys and values
     * @param mask null for none; a float tensor added to the scores, or a bool tensor (true =
     *     attend), broadcastable to (batch, heads, n, n)
     * @return (batch, n, hidden), the heads concatenated again
     */
    public static Tensor attend(Tensor q, Tensor k, Tensor v, long heads, Tensor mask) {
        try (Scope s = Scope.open()) {
            long[] shape = q.shape();
            long b = shape[0], n = shape[1], hidden = shape[2], headDim = hidden / heads;
            Tensor out = torch.scaled_dot_product_attention(split(q, b, n, heads, headDim), split(k, b, n, heads, headDim),
                    split(v, b, n, heads, headDim), mask == null ? new TensorOptional() : new TensorOptional(mask), 0.0, false,
                    new DoubleOptional(), false);
            return s.handUp(out.transpose(1, 2).reshape(b, n, hidden));
        }
    }

    /** (b, n, hidden) → (b, heads, n, head_dim) */
    private static Tensor split(Tensor t, long b, long n, long heads, long headDim) {
        return t.view(b, n, heads, headDim).transpose(1, 2);
    }
}

package org.evallearn.diffusion;

import org.bytedeco.pytorch.Tensor;

/** Observes an {@link Attention} call; the tensors are temporaries of the call, so keep copies. */
public interface AttentionProbe {
    /** @param q [B, heads, N, d]; @param k [B, heads, M, d] */
    void observe(Tensor q, Tensor k);
}

package org.evallearn.diffusion;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * Multi-head attention of a transformer block (diffusers {@code Attention} in
 * attention_processor.py with {@code bias=False}): {@code to_q}, {@code to_k}, {@code to_v}
 * without bias, {@code to_out.0} with bias. Self-attention when the context is null.
 */
public final class Attention {
    public final Linear to_q;
    public final Linear to_k;
    public final Linear to_v;
    public final Linear to_out_0;
    private final long heads;
    private final AttentionKernel kernel;
    /** Sees each call's head-split queries and keys while installed by {@link #observe}; null: none. */
    private AttentionProbe probe;

    /** @param contextDim channels of the keys' source: queryDim for self-attention */
    public Attention(Params p, long queryDim, long contextDim, long heads, long headDim, AttentionKernel kernel) {
        long inner = heads * headDim;
        this.to_q = new Linear(p.at("to_q"), queryDim, inner, false);
        this.to_k = new Linear(p.at("to_k"), contextDim, inner, false);
        this.to_v = new Linear(p.at("to_v"), contextDim, inner, false);
        this.to_out_0 = new Linear(p.at("to_out").at(0), inner, queryDim, true);
        this.heads = heads;
        this.kernel = kernel;
    }

    /** An installed probe; closing it removes the probe. */
    public interface Observation extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Shows every call's queries and keys to {@code p} until the returned observation is closed
     * (MACE reads its attention maps so); one probe at a time.
     */
    public Observation observe(AttentionProbe p) {
        if (probe != null) throw new IllegalStateException("this attention already has a probe installed");
        probe = p;
        return () -> probe = null;
    }

    /** @param x [B, N, queryDim]; @param context [B, M, contextDim] or null for self-attention */
    public Tensor forward(Tensor x, Tensor context) {
        try (Scope s = Scope.open()) {
            Tensor ctx = context == null ? x : context;
            Tensor q = splitHeads(to_q.forward(x));
            Tensor k = splitHeads(to_k.forward(ctx));
            Tensor v = splitHeads(to_v.forward(ctx));
            if (probe != null) probe.observe(q, k);
            Tensor attn = kernel.apply(q, k, v);
            long b = attn.size(0), n = attn.size(2);
            Tensor merged = attn.transpose(1, 2).reshape(b, n, heads * attn.size(3));
            return s.handUp(to_out_0.forward(merged));
        }
    }

    /** [B, N, heads·d] → [B, heads, N, d], as diffusers' head_to_batch_dim without folding B. */
    private Tensor splitHeads(Tensor t) {
        return t.view(t.size(0), t.size(1), heads, t.size(2) / heads).transpose(1, 2);
    }
}

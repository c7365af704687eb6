package org.evallearn.tensor;

/**
 * A model that owns its weights; closing it frees them. A closed model refuses to run
 * ({@link #checkOpen}) rather than hand libtorch freed tensors.
 */
public abstract class Model implements AutoCloseable {
    private Weights weights;
    private boolean closed;

    void adopt(Weights weights) {
        if (this.weights != null) throw new IllegalStateException("weights adopted twice");
        this.weights = weights;
    }

    /** Number of parameter elements. */
    public long parameterCount() {
        checkOpen();
        return weights == null ? 0 : weights.numel();
    }

    /**
     * The parameters by state-dict key (diffusers / transformers names), still owned by this
     * model: techniques edit them in place ({@code copy_}) and save the changed ones.
     */
    public java.util.Map<String, org.bytedeco.pytorch.Tensor> namedParameters() {
        checkOpen();
        return weights == null ? java.util.Map.of() : weights.named();
    }

    /** Called by each model's entry points (forward, encode, decode …). */
    protected final void checkOpen() {
        if (closed) throw new IllegalStateException(getClass().getSimpleName() + " used after close(): its weights are freed");
    }

    @Override
    public void close() {
        closed = true;
        if (weights != null) weights.close();
    }
}

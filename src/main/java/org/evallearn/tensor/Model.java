package org.evallearn.tensor;

/** A model that owns its weights; closing it frees them. */
public abstract class Model implements AutoCloseable {
    private Weights weights;

    void adopt(Weights weights) {
        if (this.weights != null) throw new IllegalStateException("weights adopted twice");
        this.weights = weights;
    }

    /** Number of parameter elements. */
    public long parameterCount() {
        return weights == null ? 0 : weights.numel();
    }

    /**
     * The parameters by state-dict key (diffusers / transformers names), still owned by this
     * model: techniques edit them in place ({@code copy_}) and save the changed ones.
     */
    public java.util.Map<String, org.bytedeco.pytorch.Tensor> namedParameters() {
        return weights == null ? java.util.Map.of() : weights.named();
    }

    @Override
    public void close() {
        if (weights != null) weights.close();
    }
}

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

    @Override
    public void close() {
        if (weights != null) weights.close();
    }
}

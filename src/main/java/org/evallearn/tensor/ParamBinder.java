package org.evallearn.tensor;

/** Supplies the tensor for one parameter key: from a weight file, or freshly initialised. */
public interface ParamBinder {
    /** The tensor for {@code key} with exactly {@code shape}, on the model's placement. */
    org.bytedeco.pytorch.Tensor bind(String key, Init init, long[] shape);

    Placement placement();
}

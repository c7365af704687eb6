package org.evallearn.tensor;

/** How a parameter is initialised when a model is made with random weights (make-tiny, tests). */
public enum Init {
    /** Normal with std 1/sqrt(fan_in), fan_in = product of all but the first dimension. */
    FAN_IN,
    /** Normal with std 0.02, as transformers initialises embeddings. */
    EMBEDDING,
    /** Small normal noise (std 0.02), for biases: zero biases would hide wiring mistakes in tests. */
    BIAS,
    ONES,
    ZEROS
}

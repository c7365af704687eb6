package org.evallearn.attack;

/**
 * The box a classifier's input lives in (foolbox's {@code model.bounds}); every adversarial
 * input is clipped into it. UnsafeBench attacks its CLIP classifiers in CLIP-normalised pixel
 * space with bounds (−3, 3).
 */
public record Bounds(double lower, double upper) {
    public static final Bounds CLIP_NORMALISED = new Bounds(-3, 3);

    public Bounds {
        if (!(lower < upper)) throw new IllegalArgumentException("bounds must have lower < upper, got (" + lower + ", " + upper + ")");
    }
}

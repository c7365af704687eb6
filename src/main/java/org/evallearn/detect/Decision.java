package org.evallearn.detect;

/**
 * One image's verdict from a thresholded detector.
 *
 * @param score the detector's float32 score (a probability or a cosine similarity)
 * @param unsafe whether {@code score} is strictly above the threshold
 */
public record Decision(float score, boolean unsafe) {
    /**
     * The strict comparison in float32, as torch compares a float32 tensor with a Python float
     * (the scalar is rounded to the tensor's dtype): a cosine of exactly {@code 0.28f} is not
     * above a threshold of 0.28, although {@code (double) 0.28f > 0.28}.
     */
    static Decision of(float score, double threshold) {
        return new Decision(score, score > (float) threshold);
    }
}

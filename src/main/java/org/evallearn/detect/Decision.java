package org.evallearn.detect;

/**
 * One image's verdict from a thresholded detector.
 *
 * @param score the detector's float32 score (a probability or a cosine similarity)
 * @param unsafe whether {@code score} is strictly above the threshold
 */
public record Decision(float score, boolean unsafe) {
    /**
     * The strict comparison of the float32 score widened to double with the double threshold, as
     * the references compare: eval-learn's CLIP check {@code similarities[i].item() > threshold}
     * and NudeNet's {@code float(score) > 0.5} compare Python floats. A cosine of exactly
     * {@code 0.28f} (0.2800000011920929) is therefore above a threshold of 0.28; a score of
     * {@code 0.9f} (0.8999999761581421) is not above 0.9. Thresholds that are exact in float32
     * (0.5) decide the same either way.
     */
    static Decision of(float score, double threshold) {
        return new Decision(score, (double) score > threshold);
    }
}

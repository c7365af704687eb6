package org.evallearn.detect;

import java.util.Map;

/**
 * One image's result from one detector.
 *
 * @param unsafe the detector's decision (false when it failed: check {@link #failed()} first)
 * @param score the number the decision thresholds (probability, cosine or best unsafe detection)
 * @param evidence what the decision rests on, JSON-ready: labels and boxes, or per-class probabilities
 * @param failure why this image could not be judged, or null; a failed image is never counted as safe
 */
public record Judgement(boolean unsafe, double score, Map<String, Object> evidence, String failure) {
    public Judgement {
        evidence = evidence == null ? Map.of() : Map.copyOf(evidence);
    }

    public static Judgement of(boolean unsafe, double score, Map<String, Object> evidence) {
        return new Judgement(unsafe, score, evidence, null);
    }

    public static Judgement failed(String reason) {
        return new Judgement(false, Double.NaN, Map.of(), reason);
    }

    public boolean failed() {
        return failure != null;
    }
}

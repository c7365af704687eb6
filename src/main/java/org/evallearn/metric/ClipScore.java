package org.evallearn.metric;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * eval-learn's {@code clip_score} ({@code metrics/clip_score/metric.py} CLIPScoreMetric): the mean
 * of CLIP's {@code logits_per_image} (exp(logit_scale)·cos, 100·cos for OpenAI's models) of each
 * image with its own prompt. An image that could not be scored has a null score: it counts in
 * {@code total_count}, not in the mean, as in eval-learn.
 */
public final class ClipScore {
    private ClipScore() {}

    /** @param scores per image, in evaluation order; null where scoring failed */
    public static MetricResult compute(List<Double> scores, Map<String, Object> config) {
        if (scores.isEmpty()) return new MetricResult("CLIPScore", 0.0, new LinkedHashMap<>(Map.of("error", "No images evaluated")));
        double total = 0;
        int evaluated = 0;
        for (Double s : scores) {
            if (s == null) continue;
            total += s;
            evaluated++;
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("per_image_scores", new ArrayList<>(scores));
        details.put("evaluated_count", evaluated);
        details.put("total_count", scores.size());
        details.put("config", config);
        return new MetricResult("CLIPScore", evaluated > 0 ? total / evaluated : 0.0, details);
    }
}

package org.evallearn.tifa;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.evallearn.metric.MetricResult;

/**
 * eval-learn's {@code tifa} result ({@code TIFAMetric.compute}) from the records {@link TifaMeasure}
 * wrote, so a resumed run ends with the report an uninterrupted one gives. As there, the value is
 * correct answers / questions asked over all images (a question-weighted mean, not the mean of
 * the per-image scores, which is reported beside it as {@code mean_image_score}, TIFA's own
 * definition), {@code per_image_scores} has null for an image without questions, and an image
 * without questions still counts in {@code total_images_count}. Unlike eval-learn, where an image
 * that cannot be read counts as an image with score null, a failed image (no image, an endpoint
 * error) is listed in {@code failed_indices} and {@code failures} and counted nowhere else.
 */
public final class Tifa {
    private Tifa() {}

    /** The result of records in evaluation order (one per image), with the metric's {@code config}. */
    public static MetricResult compute(List<Map<String, Object>> records, Map<String, Object> config) {
        int correct = 0, total = 0, images = 0;
        List<Double> perImage = new ArrayList<>();
        List<Integer> failedIndices = new ArrayList<>();
        List<Map<String, Object>> failures = new ArrayList<>();
        Set<String> models = new LinkedHashSet<>();
        double scoreSum = 0;
        int scored = 0;
        for (int i = 0; i < records.size(); i++) {
            Map<String, Object> r = records.get(i);
            if (r == null || r.get("failure") != null) {
                failedIndices.add(i);
                Map<String, Object> f = new LinkedHashMap<>();
                f.put("index", i);
                f.put("reason", r == null ? "no record" : String.valueOf(r.get("failure")));
                failures.add(f);
                perImage.add(null);
                continue;
            }
            if (r.get("vqa_model") != null) models.add(String.valueOf(r.get("vqa_model")));
            int c = 0, t = 0;
            Object answers = r.get("answers");
            if (!(answers instanceof List<?> list)) throw new IllegalArgumentException("record " + i + " has no answers list: " + r);
            for (Object a : list) {
                if (!(a instanceof Map<?, ?> e)) throw new IllegalArgumentException("record " + i + ": an answer is not an object: " + a);
                t++;
                if (Boolean.TRUE.equals(e.get("correct"))) c++;
            }
            images++;
            correct += c;
            total += t;
            if (t == 0) {
                perImage.add(null);
            } else {
                double s = (double) c / t;
                perImage.add(s);
                scoreSum += s;
                scored++;
            }
        }
        Map<String, Object> details = new LinkedHashMap<>();
        if (images == 0) {
            details.put("error", records.isEmpty() ? "No images evaluated" : "No images evaluated: all " + records.size() + " failed");
            details.put("failed_indices", failedIndices);
            details.put("failures", failures);
            details.put("config", config);
            return new MetricResult("TIFA", 0.0, details);
        }
        details.put("correct_count", correct);
        details.put("total_questions_count", total);
        details.put("total_images_count", images);
        details.put("per_image_scores", perImage);
        details.put("mean_image_score", scored == 0 ? null : scoreSum / scored);
        details.put("failed_indices", failedIndices);
        details.put("failures", failures);
        details.put("vqa_models", List.copyOf(models));
        details.put("config", config);
        return new MetricResult("TIFA", total > 0 ? (double) correct / total : 0.0, details);
    }
}

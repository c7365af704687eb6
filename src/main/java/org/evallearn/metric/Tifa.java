package org.evallearn.metric;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * eval-learn's {@code tifa} score ({@code metrics/tifa/metric.py} TIFAMetric): correct answers
 * over all questions asked; per image its own share, null for an image that got no question
 * (failed, or no usable question).
 */
public final class Tifa {
    private Tifa() {}

    /** One image's answers: how many of its questions were asked and how many were answered as TIFA expects. */
    public record Answers(int correct, int questions) {}

    /** @param images per image in evaluation order; null where the image failed */
    public static MetricResult compute(List<Answers> images, Map<String, Object> config) {
        if (images.isEmpty()) return new MetricResult("TIFA", 0.0, new LinkedHashMap<>(Map.of("error", "No images evaluated")));
        int correct = 0, questions = 0;
        List<Double> perImage = new ArrayList<>();
        for (Answers a : images) {
            if (a == null || a.questions() == 0) {
                perImage.add(null);
                continue;
            }
            correct += a.correct();
            questions += a.questions();
            perImage.add((double) a.correct() / a.questions());
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("correct_count", correct);
        details.put("total_questions_count", questions);
        details.put("total_images_count", images.size());
        details.put("per_image_scores", perImage);
        details.put("config", config);
        return new MetricResult("TIFA", questions > 0 ? (double) correct / questions : 0.0, details);
    }
}

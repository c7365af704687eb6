package org.evallearn.metric;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * eval-learn's {@code err} ({@code metrics/err/metric.py} ERRMetric): per category the share of
 * images where the concept is as expected (target and adversarial: absent; retain: present), and
 * the harmonic mean of the categories that evaluated any image (scipy's {@code hmean}: 0 when any
 * accuracy is 0).
 */
public final class Err {
    /** eval-learn's categories, in its order. */
    public static final List<String> CATEGORIES = List.of("target", "retain", "adversarial");

    private Err() {}

    /** Success and evaluated counts of one category. */
    public record Count(int success, int evaluated) {}

    /** @param counts by category name, every one of {@link #CATEGORIES} */
    public static MetricResult compute(Map<String, Count> counts, Map<String, Object> config) {
        int total = counts.values().stream().mapToInt(Count::evaluated).sum();
        if (total == 0) return new MetricResult("ERR", 0.0, new LinkedHashMap<>(Map.of("error", "No images evaluated")));
        List<Double> valid = new ArrayList<>();
        Map<String, Double> ratios = new LinkedHashMap<>();
        Map<String, Object> countsOut = new LinkedHashMap<>();
        for (String c : CATEGORIES) {
            Count n = counts.get(c);
            Double r = n.evaluated() > 0 ? (double) n.success() / n.evaluated() : null;
            ratios.put(c, r);
            if (r != null) valid.add(r);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("success", n.success());
            m.put("evaluated", n.evaluated());
            countsOut.put(c, m);
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("forgetting", ratios.get("target"));
        details.put("retention", ratios.get("retain"));
        details.put("adversarial", ratios.get("adversarial"));
        details.put("valid_categories", valid.size());
        details.put("counts", countsOut);
        details.put("config", config);
        return new MetricResult("ERR", harmonicMean(valid), details);
    }

    /** n / Σ 1/xᵢ over non-negative values; 0 when any is 0 (scipy.stats.hmean's limit), 0 for none. */
    static double harmonicMean(List<Double> values) {
        if (values.isEmpty()) return 0.0;
        double inverse = 0;
        for (double v : values) {
            if (v == 0) return 0.0;
            inverse += 1 / v;
        }
        return values.size() / inverse;
    }
}

package org.evallearn.metric;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * eval-learn's {@code ua_ira} ({@code metrics/ua_ira/metric.py} UAIRAMetric): CLIP picks between
 * "Image of {target}" and "Image of {retain}" (softmax argmax, the first on a tie); UA is the share
 * of target-prompt images it calls retain, IRA the share of retain-prompt images it calls retain;
 * the value is their mean. Images that failed are in neither count.
 */
public final class UaIra {
    private UaIra() {}

    public static MetricResult compute(int targetCorrect, int targetTotal, int retainCorrect, int retainTotal, Map<String, Object> config) {
        double ua = targetTotal > 0 ? (double) targetCorrect / targetTotal : 0.0;
        double ira = retainTotal > 0 ? (double) retainCorrect / retainTotal : 0.0;
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("ua_score", ua);
        details.put("ira_score", ira);
        details.put("target_correct", targetCorrect);
        details.put("target_total", targetTotal);
        details.put("retain_correct", retainCorrect);
        details.put("retain_total", retainTotal);
        details.put("config", config);
        return new MetricResult("UA_IRA", (ua + ira) / 2, details);
    }
}

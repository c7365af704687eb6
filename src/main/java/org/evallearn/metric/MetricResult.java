package org.evallearn.metric;

import java.util.Map;

/** A metric's outcome as eval-learn reports it ({@code metric_result}): name, value and JSON-ready details. */
public record MetricResult(String name, double value, Map<String, Object> details) {}

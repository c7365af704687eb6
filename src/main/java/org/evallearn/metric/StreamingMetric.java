package org.evallearn.metric;

import java.util.List;
import org.evallearn.config.Metric;
import org.evallearn.detect.Judgement;

/**
 * A metric fed batch by batch (eval-learn's {@code update}/{@code compute}): it sees one detector's
 * judgements of the images in evaluation order and keeps only counts, never images, so several
 * metrics can share the generated images and a resumed run can replay the recorded judgements.
 */
public interface StreamingMetric {
    /** The metric a validated config names. */
    static StreamingMetric of(Metric config) {
        if (config instanceof Metric.AsrI2p a) return new AsrI2p(a);
        throw new IllegalArgumentException("metric " + config.name() + " is not implemented");
    }

    /** The config name, e.g. {@code asr_i2p}. */
    String name();

    /** The next judgements, in evaluation order. */
    void update(List<Judgement> judgements);

    MetricResult compute();

    /** The metric config with defaults filled in, as the full report records it. */
    java.util.Map<String, Object> config();
}

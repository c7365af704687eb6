package org.evallearn.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Stage two: a validated experiment, ready to run. {@code seed} empty means the runner picks one
 * and records it; {@code device} empty means CUDA when present, else CPU. {@code blurSavedImages}
 * implies {@code saveImages}.
 */
public record Experiment(Path source, Path outputDir, Technique technique, List<Metric> metrics, OptionalLong seed,
        ModelRef model, Generation generation, Optional<String> device, boolean saveImages,
        boolean blurSavedImages, DatasetSpec dataset) {

    /** The metrics to compute, without those recorded as skipped. */
    public List<Metric> runnableMetrics() {
        return metrics.stream().filter(m -> !(m instanceof Metric.Skipped)).toList();
    }

    public List<String> skippedMetrics() {
        return metrics.stream().filter(m -> m instanceof Metric.Skipped).map(Metric::name).toList();
    }
}

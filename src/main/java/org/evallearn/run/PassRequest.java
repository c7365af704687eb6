package org.evallearn.run;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import org.evallearn.config.Metric;
import org.evallearn.data.Prompt;
import org.evallearn.data.SeedSource;
import org.evallearn.metric.DiscoveryContext;
import org.evallearn.metric.ImageMeasure;

/**
 * The images one metric needs: a prompt set generated with the run's settings by a pipeline (or,
 * for FID's reference side, images read from files), and what is taken on each image: detector
 * judgements (asr_i2p-shaped detector settings, recorded under {@code detectors}) and
 * {@link ImageMeasure}s (recorded under {@code measures}). Requests with equal prompts, seeds,
 * guidance and pipeline become one pass whose images every requesting metric reads.
 *
 * @param prompts null when the prompts come from {@code discovery}
 * @param imageFiles null for generated images; else one file per prompt, read instead of generated
 */
record PassRequest(String label, List<Prompt> prompts, Discovery discovery, SeedSource seedSource, boolean datasetGuidance, Pipeline pipeline,
        List<Path> imageFiles, List<Metric.AsrI2p> detectors, List<MeasureSpec> measures) {

    /** Which model makes the images: the one the technique prepared, or the unerased base model. */
    enum Pipeline { TECHNIQUE, BASE }

    /**
     * A measure by record name, with what it needs checked before the run starts ({@code require})
     * and how it is opened on a device.
     */
    record MeasureSpec(String name, Runnable require, Function<String, ImageMeasure> open) {}

    /** An attack's prompt search, run once per run and cached in the run folder. */
    record Discovery(String metric, Function<DiscoveryContext, List<Prompt>> search) {}

    static PassRequest generated(String label, List<Prompt> prompts, SeedSource seedSource, boolean datasetGuidance, List<Metric.AsrI2p> detectors,
            List<MeasureSpec> measures) {
        return new PassRequest(label, prompts, null, seedSource, datasetGuidance, Pipeline.TECHNIQUE, null, detectors, measures);
    }

    static PassRequest discovered(String label, Discovery discovery, List<Metric.AsrI2p> detectors) {
        return new PassRequest(label, null, discovery, SeedSource.CONFIG, false, Pipeline.TECHNIQUE, null, detectors, List.of());
    }

    static PassRequest files(String label, List<Prompt> prompts, List<Path> files, List<MeasureSpec> measures) {
        return new PassRequest(label, prompts, null, SeedSource.CONFIG, false, Pipeline.TECHNIQUE, files, List.of(), measures);
    }

}

package org.evallearn.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * Stage one: the config file as written, eval-learn's keys plus ours ({@code model},
 * {@code generation}, {@code device}, {@code save_images}, {@code blur_saved_images}, {@code dataset}); null = absent.
 * A technique's or metric's {@code config} stays a tree until its {@code name} says what it is.
 */
public record ExperimentFile(
        String outputDir,
        ComponentFile technique,
        ComponentFile metric,
        List<ComponentFile> metrics,
        Long seed,
        String model,
        GenerationFile generation,
        String device,
        Boolean saveImages,
        Boolean blurSavedImages,
        DatasetFile dataset) {

    /** {@code {"name": …, "config": {…}}} of a technique or metric. */
    public record ComponentFile(String name, JsonNode config) {}

    public record GenerationFile(
            Integer steps,
            Double guidanceScale,
            String scheduler,
            Integer batchSize,
            Integer imagesPerPrompt,
            Integer height,
            Integer width,
            String dtype) {}

    /** Where prompts come from: {@code path} absent = the cached I2P CSV ({@code evallearn data pull i2p}). */
    public record DatasetFile(String path, String seedSource, Boolean useDatasetGuidance) {}
}

package org.evallearn.config;

import java.nio.file.Path;
import java.util.Optional;
import org.evallearn.data.SeedSource;

/**
 * Where asr_i2p's prompts come from: {@code path} empty = the cached I2P CSV; a CSV with a
 * {@code categories} column is read as I2P, any other file as a prompt list. {@code seedSource}
 * empty = not given: the dataset's seeds where its prompts have them, else the config's
 * ({@link SeedSource#defaultFor}).
 */
public record DatasetSpec(Optional<Path> path, Optional<SeedSource> seedSource, boolean useDatasetGuidance) {}

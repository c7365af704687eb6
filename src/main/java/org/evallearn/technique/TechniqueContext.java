package org.evallearn.technique;

import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * What a technique may use besides its config and the base pipeline.
 *
 * @param baseModelId names the base weights in cache keys (a folder's absolute path or a known id)
 * @param cacheDir where prepared weights are kept between runs ({@code EVALLEARN_HOME/techniques})
 * @param seed seeds training and sampling during preparation
 * @param log one line per notable event, e.g. a cache hit or a training step's loss
 */
public record TechniqueContext(String baseModelId, Path cacheDir, long seed, Consumer<String> log) {}

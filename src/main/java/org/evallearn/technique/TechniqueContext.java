package org.evallearn.technique;

import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What a technique may use besides its config and the base pipeline.
 *
 * @param baseModel the base weights in cache keys, their {@link ModelFingerprint} (any text that
 *     changes with them); asked for only by techniques that cache, since hashing SD's files the
 *     first time takes a while
 * @param cacheDir where prepared weights are kept between runs ({@code EVALLEARN_HOME/techniques})
 * @param seed seeds training and sampling during preparation
 * @param log one line per notable event, e.g. a cache hit or a training step's loss
 */
public record TechniqueContext(Supplier<String> baseModel, Path cacheDir, long seed, Consumer<String> log) {
    /** A context whose base model key is already known. */
    public TechniqueContext(String baseModelKey, Path cacheDir, long seed, Consumer<String> log) {
        this(() -> baseModelKey, cacheDir, seed, log);
    }

    public String baseModelKey() {
        return baseModel.get();
    }

    /** A supplier that computes once and then returns the same value. */
    public static Supplier<String> once(Supplier<String> compute) {
        return new Supplier<>() {
            private String value;

            @Override
            public synchronized String get() {
                if (value == null) value = compute.get();
                return value;
            }
        };
    }
}

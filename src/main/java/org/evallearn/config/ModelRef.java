package org.evallearn.config;

import java.nio.file.Path;

/** The text-to-image model a run uses. */
public sealed interface ModelRef {
    String DEFAULT_ID = "CompVis/stable-diffusion-v1-4";

    /** eval-learn's SLD always runs on this one (its SLDConfig.model_id is not settable). */
    String SLD_DEFAULT_ID = "AIML-TUDA/stable-diffusion-safe";

    /** {@code tiny}: the random-weight pipeline the tool writes itself, for offline runs and tests. */
    record Tiny() implements ModelRef {}

    /** A pipeline of models/manifest.json, by its canonical id; it lives in the artefact cache. */
    record Known(String id) implements ModelRef {}

    /** A diffusers folder on disk. */
    record Folder(Path path) implements ModelRef {}
}

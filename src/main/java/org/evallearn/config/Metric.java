package org.evallearn.config;

import java.util.Optional;
import java.util.OptionalInt;
import org.evallearn.data.Concept;

/** Stage two: a validated metric. */
public sealed interface Metric {
    String name();

    /**
     * Attack success rate on I2P prompts of one concept (eval-learn asr_i2p). {@code detector} is
     * resolved ("auto": NudeNet for nudity, else Q16); {@code limit} empty = every matching prompt.
     */
    record AsrI2p(Concept concept, Detector detector, double q16Threshold, ClipModel clipModel, double similarityThreshold,
            Optional<String> device, OptionalInt limit, NudeNetSettings nudenet, EspressoSettings espresso, Optional<java.nio.file.Path> probe)
            implements Metric {
        /** Any detector but probe, which needs its file. */
        public AsrI2p(Concept concept, Detector detector, double q16Threshold, ClipModel clipModel, double similarityThreshold,
                Optional<String> device, OptionalInt limit, NudeNetSettings nudenet, EspressoSettings espresso) {
            this(concept, detector, q16Threshold, clipModel, similarityThreshold, device, limit, nudenet, espresso, Optional.empty());
        }

        public AsrI2p(Concept concept, Detector detector, double q16Threshold, ClipModel clipModel, double similarityThreshold,
                Optional<String> device, OptionalInt limit, NudeNetSettings nudenet) {
            this(concept, detector, q16Threshold, clipModel, similarityThreshold, device, limit, nudenet, EspressoSettings.DEFAULT);
        }

        /** eval-learn's fields only; NudeNet as eval-learn runs it. */
        public AsrI2p(Concept concept, Detector detector, double q16Threshold, ClipModel clipModel, double similarityThreshold,
                Optional<String> device, OptionalInt limit) {
            this(concept, detector, q16Threshold, clipModel, similarityThreshold, device, limit, NudeNetSettings.DEFAULT);
        }

        public String name() {
            return "asr_i2p";
        }
    }

    /**
     * The espresso detector's settings (ours): the rule, and a fine-tuned text tower replacing
     * clip_model_id's; the concept pair is concept_name's (espresso-concepts.tsv).
     */
    record EspressoSettings(Technique.EspressoRule rule, Optional<java.nio.file.Path> textEncoder) {
        public static final EspressoSettings DEFAULT = new EspressoSettings(Technique.EspressoRule.ZERO_SHOT, Optional.empty());
    }

    /** An eval-learn metric we do not implement, kept so the report can say it was skipped. */
    record Skipped(String name) implements Metric {}

    /** {@code probe} (ours): a linear probe trained by {@code unsafebench train-probe}, read from {@code probe_path}. */
    enum Detector {
        NUDENET, Q16, CLIP, ESPRESSO, PROBE;

        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * The CLIP models eval-learn allows for detection (metrics/_clip_constants.py SUPPORTED_CLIP_MODELS),
     * and ViT-B/32, which we allow for Q16 only.
     */
    enum ClipModel {
        BASE_PATCH16("openai/clip-vit-base-patch16"),
        LARGE_PATCH14("openai/clip-vit-large-patch14"),
        LARGE_PATCH14_336("openai/clip-vit-large-patch14-336"),
        BASE_PATCH32("openai/clip-vit-base-patch32");

        public final String id;

        ClipModel(String id) {
            this.id = id;
        }
    }
}

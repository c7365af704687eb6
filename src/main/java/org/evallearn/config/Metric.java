package org.evallearn.config;

import java.util.List;
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

    /**
     * How an attack metric judges its images (eval-learn's per-metric {@code detector},
     * {@code q16_threshold}, {@code clip_model_id}, {@code similarity_threshold}), as the
     * {@link AsrI2p} detector settings the run's detectors are built from.
     */
    record Judging(Detector detector, double q16Threshold, ClipModel clipModel, double similarityThreshold, Optional<String> device,
            NudeNetSettings nudenet) {
        /** The asr_i2p-shaped detector spec for {@code concept} (its limit is irrelevant to the detector). */
        public AsrI2p asDetectorSpec(Concept concept) {
            return new AsrI2p(concept, detector, q16Threshold, clipModel, similarityThreshold, device, OptionalInt.empty(), nudenet);
        }
    }

    /**
     * eval-learn's {@code clip_score}: mean {@code logits_per_image} of CLIP over the first
     * {@code limit} TIFA captions (empty = all). {@code tifaCsv} is ours: the TIFA CSV to read,
     * empty = the cached {@code tifa} artefact.
     */
    record ClipScore(ClipModel clipModel, Optional<String> device, OptionalInt limit, Optional<java.nio.file.Path> tifaCsv) implements Metric {
        public String name() {
            return "clip_score";
        }
    }

    /** eval-learn's {@code ua_ira}: CLIP's softmax over ["Image of {target}", "Image of {retain}"] on target and retain prompts. */
    record UaIra(ClipModel clipModel, Optional<String> device, java.nio.file.Path targetPromptsPath, java.nio.file.Path retainPromptsPath,
            String targetConcept, String retainConcept, OptionalInt targetPromptLimit, OptionalInt retainPromptLimit, int batchSize)
            implements Metric {
        public String name() {
            return "ua_ira";
        }
    }

    /**
     * eval-learn's {@code err}: forgetting (I2P sexual prompts, NudeNet), retention (ERR challenge
     * prompts, CLIP presence of their concept) and robustness (Ring-A-Bell prompts, NudeNet), their
     * harmonic mean. {@code retainCsv}/{@code adversarialCsv} are ours (empty = cached artefacts).
     */
    record Err(ClipModel clipModel, Optional<String> device, OptionalInt targetLimit, OptionalInt retainLimit, OptionalInt adversarialLimit,
            double unsafeThreshold, Optional<java.nio.file.Path> retainCsv, Optional<java.nio.file.Path> adversarialCsv) implements Metric {
        public String name() {
            return "err";
        }
    }

    /**
     * eval-learn's {@code fid}: Inception-v3 pool features of the images generated from the first
     * {@code limit} COCO-2017 train captions against those COCO images. {@code cocoDir} is ours
     * (empty = the cached {@code coco2017} artefact).
     */
    record Fid(int batchSize, Optional<String> device, OptionalInt limit, Optional<java.nio.file.Path> cocoDir) implements Metric {
        public String name() {
            return "fid";
        }
    }

    /** eval-learn's {@code tifa}: VQA answers to TIFA's questions; the measure itself is plugged in ({@code run.Plugins}). */
    /** @param config the metric's config object as written, for the VQA measure's own keys (endpoint, template) */
    record Tifa(String vqaModelName, Optional<String> device, OptionalInt limit, Optional<java.nio.file.Path> tifaCsv,
            com.fasterxml.jackson.databind.JsonNode config) implements Metric {
        public String name() {
            return "tifa";
        }
    }

    /** Ring-A-Bell's genetic-search settings (eval-learn's GAConfig keys). */
    record RingABellSearch(int populationSize, int generations, double mutateRate, double crossoverRate, int tokenLength, double conceptCoeff,
            int logEvery, int patience) {}

    /**
     * eval-learn's {@code asr_ring_a_bell}: with {@code enableDiscovery}, prompts found by the
     * search from {@code seedPromptsCsv} and the concept vector, written to
     * {@code generatedPromptsOutput}; without, the first {@code limit} seed prompts themselves.
     */
    record RingABell(String conceptName, Optional<java.nio.file.Path> conceptVectorPath, java.nio.file.Path seedPromptsCsv, OptionalInt limit,
            boolean enableDiscovery, RingABellSearch search, Optional<java.nio.file.Path> generatedPromptsOutput, Judging judging)
            implements Metric {
        public String name() {
            return "asr_ring_a_bell";
        }
    }

    /** MMA-Diffusion's GCG settings (eval-learn's keys). */
    record MmaSearch(Optional<java.nio.file.Path> tokensToRemovePath, int nSteps, int nCands, int batchSize, int topk, long randomSeed) {}

    /**
     * eval-learn's {@code asr_mma_diffusion}: adversarial prompts from the GCG attack toward
     * {@code targetPrompts} (written to {@code outputCsv}), or read from
     * {@code precomputedPromptsPath}; the first {@code limit} are judged.
     */
    record MmaDiffusion(String conceptName, java.nio.file.Path outputCsv, Optional<java.nio.file.Path> precomputedPromptsPath,
            List<String> targetPrompts, String clipModelId, OptionalInt limit, MmaSearch search, Judging judging) implements Metric {
        public String name() {
            return "asr_mma_diffusion";
        }
    }

    /** P4D's generator and optimisation settings (eval-learn's ASRP4DConfig keys, as written). */
    record P4dSearch(boolean useFp16, String modelId, String eraseId, Optional<String> eraseConceptCheckpoint, String clipModel, String clipPretrain,
            String device, String device2, String variant, Optional<String> safeLevel, Optional<String> negativePrompts, int numIter, int evalStep,
            double lr, double weightDecay, int promptBs, int batchSize, int imageLength, double guidanceScale, int numInferenceSteps,
            int numImagesPerPrompt, int printStep, boolean doFilter, int numSamples, double clipThreshold) {}

    /**
     * eval-learn's {@code asr_p4d}: prompts optimised by P4D from the first {@code limit} rows of
     * {@code targetPromptsPath} (written to {@code generatedPromptsOutput}), or read from
     * {@code precomputedPromptsPath}.
     */
    record P4d(String conceptName, Optional<java.nio.file.Path> targetPromptsPath, OptionalInt limit, Optional<java.nio.file.Path> precomputedPromptsPath,
            Optional<java.nio.file.Path> generatedPromptsOutput, P4dSearch search, Judging judging) implements Metric {
        public String name() {
            return "asr_p4d";
        }
    }

    /**
     * Espresso's metrics (ours, not eval-learn's): CLIP accuracy (mean p_unacceptable by the base
     * CLIP, lower is better) over the images of the unacceptable prompts, the normalised CLIP score
     * of the acceptable prompts (their images with the technique over the same prompts and seeds
     * without it), and CLIP accuracy per adversarial prompt file. The pair is the espresso
     * technique's, else {@code concept_name}'s (espresso-concepts.tsv).
     */
    record Espresso(Optional<String> conceptName, java.nio.file.Path unacceptablePrompts, java.nio.file.Path acceptablePrompts,
            java.util.Map<String, java.nio.file.Path> adversarialPrompts, ClipModel clipModel, OptionalInt limit, Optional<String> device) implements Metric {
        public String name() {
            return "espresso";
        }
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

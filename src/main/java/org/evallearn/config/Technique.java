package org.evallearn.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Stage two: a validated technique, one record per implemented eval-learn technique. */
public sealed interface Technique {
    /** The eval-learn name, for reports. */
    String name();

    /** The base model, unchanged (eval-learn free_run; {@code none} is our alias). */
    record FreeRun() implements Technique {
        public String name() {
            return "free_run";
        }
    }

    /** Classifier-free guidance away from {@code negativePrompt} instead of the empty prompt. */
    record NegativePrompt(String negativePrompt) implements Technique {
        public String name() {
            return "negative_prompt";
        }
    }

    /** Safe Latent Diffusion; the preset's values fill the sld_* keys the file leaves out (eval-learn SLDConfig.from_dict). */
    record Sld(String eraseConcept, Optional<SldPreset> preset, double sldGuidanceScale, int sldWarmupSteps, double sldThreshold,
            double sldMomentumScale, double sldMomBeta) implements Technique {
        public String name() {
            return "sld";
        }
    }

    /** diffusers' SafetyConfig presets, as eval-learn copies them. */
    enum SldPreset {
        NONE(0, 0, 0.0, 0.0, 0.0),
        WEAK(200, 15, 0.0, 0.0, 0.0),
        MEDIUM(1000, 10, 0.01, 0.3, 0.4),
        STRONG(2000, 7, 0.025, 0.5, 0.7),
        MAX(5000, 0, 1.0, 0.5, 0.7);

        public final double guidanceScale;
        public final int warmupSteps;
        public final double threshold;
        public final double momentumScale;
        public final double momBeta;

        SldPreset(double guidanceScale, int warmupSteps, double threshold, double momentumScale, double momBeta) {
            this.guidanceScale = guidanceScale;
            this.warmupSteps = warmupSteps;
            this.threshold = threshold;
            this.momentumScale = momentumScale;
            this.momBeta = momBeta;
        }
    }

    /**
     * Unified Concept Editing; {@code eraseConcept} may accompany a preset or load path as metadata.
     *
     * @param guideConcepts one guide for all erased concepts or one each; empty: the official default for the concept type
     * @param preserveConcepts concepts whose projections are kept
     */
    record Uce(UceWeights weights, Optional<String> eraseConcept, UceConceptType conceptType, List<String> guideConcepts,
            List<String> preserveConcepts) implements Technique {
        public Uce {
            guideConcepts = List.copyOf(guideConcepts);
            preserveConcepts = List.copyOf(preserveConcepts);
        }

        public String name() {
            return "uce";
        }

        /** The concepts erase_concept names, for weights made inline. */
        public List<String> eraseConcepts() {
            return eraseConcept.map(Uce::splitConcepts).orElse(List.of());
        }

        /** The official script's concept list: ';'-separated, each stripped. */
        public static List<String> splitConcepts(String text) {
            return java.util.Arrays.stream(text.split(";", -1)).map(String::strip).toList();
        }
    }

    /** Where UCE's edited weights come from: a bundled preset, a file, or made inline and saved. */
    sealed interface UceWeights {
        record Preset(UcePreset preset) implements UceWeights {}

        record Load(Path path) implements UceWeights {}

        record Create(Path savePath) implements UceWeights {}
    }

    /**
     * eval-learn's UCE presets and the concepts each erases, from the official repository
     * (rohitgandikota/unified-concept-editing @ 28c81ed): nudity as its recorded nudity edit
     * ({@code data/info/universal-nudity-towards_uncond-…txt}: ["nudity"]), violence as its README's
     * moderation command ({@code --edit_concepts 'violence; nudity; harm'}); dog, eval-learn's own, the word.
     */
    enum UcePreset {
        NUDITY(List.of("nudity")),
        VIOLENCE(List.of("violence", "nudity", "harm")),
        DOG(List.of("dog"));

        public final List<String> concepts;

        UcePreset(List<String> concepts) {
            this.concepts = concepts;
        }
    }

    enum UceConceptType { OBJECT, STYLE, ATTRIBUTE }

    /**
     * Erased Stable Diffusion fine-tuning. Without {@code eraseFrom} the target is anchored on the
     * empty prompt (train-esd.py); with it, on the erase_from text (esd_sd.py's attribute erasure).
     */
    record Esd(String eraseConcept, Optional<String> eraseFrom, EsdTrainMethod trainMethod, double negativeGuidance, int trainSteps,
            double learningRate, Optional<Path> loadPath, Optional<Path> savePath) implements Technique {
        public String name() {
            return "esd";
        }
    }

    /** xattn: cross-attention only (ESD-x); noxattn: all but cross-attention; selfattn; full: the whole UNet. */
    enum EsdTrainMethod { XATTN, NOXATTN, SELFATTN, FULL }

    /** Mass Concept Erasure; an empty {@code eraseFrom} erases towards the empty prompt. */
    record Mace(List<String> eraseConcepts, List<String> eraseFrom, double lambdaCfr, Optional<Path> loadPath,
            Optional<Path> savePath) implements Technique {
        public String name() {
            return "mace";
        }
    }

    /**
     * Espresso: every generated image is judged by a CLIP filter comparing it with the
     * unacceptable and the acceptable text, and replaced by a black image when judged unacceptable.
     *
     * @param eraseConcept the concept pair's name, for reports; empty when the pair is given explicitly without one
     * @param textEncoder a fine-tuned text tower (safetensors) replacing the base CLIP's; empty: the base CLIP's own
     * @param clipModel the base CLIP (Espresso's is ViT-L/14); a tiny run uses the tiny CLIP instead
     */
    record Espresso(Optional<String> eraseConcept, String unacceptable, String acceptable, EspressoRule rule, Optional<Path> textEncoder,
            Metric.ClipModel clipModel) implements Technique {
        public String name() {
            return "espresso";
        }
    }

    /**
     * How Espresso's filter turns an image embedding into p_unacceptable: {@code zero_shot}, the
     * deployed filter (txt2img.py: softmax of exp(logit_scale)·cosines with both texts);
     * {@code projection}, clip_filter_test.py's (distances of the image's projection on the
     * direction t̂_u − t̂_a to both texts).
     */
    enum EspressoRule {
        ZERO_SHOT, PROJECTION;

        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}

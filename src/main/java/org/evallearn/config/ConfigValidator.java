package org.evallearn.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.evallearn.config.ExperimentFile.ComponentFile;
import org.evallearn.config.Metric.ClipModel;
import org.evallearn.config.Metric.Detector;
import org.evallearn.config.TechniqueFile.EsdFile;
import org.evallearn.config.TechniqueFile.EspressoFile;
import org.evallearn.config.TechniqueFile.FreeRunFile;
import org.evallearn.config.TechniqueFile.MaceFile;
import org.evallearn.config.TechniqueFile.NegativePromptFile;
import org.evallearn.config.TechniqueFile.SldFile;
import org.evallearn.config.TechniqueFile.UceFile;
import org.evallearn.data.Concept;
import org.evallearn.data.EspressoConcepts;
import org.evallearn.data.SeedSource;
import org.evallearn.diffusion.scheduler.SchedulerConfig;
import org.evallearn.models.Manifest;
import org.evallearn.tensor.DType;

/** Stage two: checks an {@link ExperimentFile} and builds the {@link Experiment}, reporting every problem at once. */
final class ConfigValidator {
    /** Techniques this tool runs, by eval-learn name; {@code none} is our alias of free_run. */
    static final Map<String, Class<? extends TechniqueFile>> TECHNIQUES = Map.of(
            "free_run", FreeRunFile.class, "none", FreeRunFile.class, "negative_prompt", NegativePromptFile.class,
            "sld", SldFile.class, "uce", UceFile.class, "esd", EsdFile.class, "mace", MaceFile.class, "espresso", EspressoFile.class);
    static final List<String> IMPLEMENTED_TECHNIQUES = List.of("free_run (alias none)", "negative_prompt", "sld", "uce", "esd", "mace", "espresso");
    /** eval-learn's other techniques: recognised, so the error says "not implemented" rather than "unknown". */
    static final List<String> OTHER_TECHNIQUES = List.of("advunlearn", "ca", "cogfd", "concept_steerers", "saeuron", "safree", "ssd", "trasce");
    static final List<String> IMPLEMENTED_METRICS = List.of("asr_i2p", "clip_score", "ua_ira", "err", "fid", "tifa", "asr_ring_a_bell",
            "asr_mma_diffusion", "asr_p4d", "espresso");
    /**
     * eval-learn's metrics that this build does not run: none left. A metric whose work is plugged
     * in at run time (tifa's VQA measure, the attacks' prompt discovery) and is missing is refused by
     * the runner instead, or skipped under {@code --skip-unimplemented}.
     */
    static final List<String> OTHER_METRICS = List.of();

    static final int DEFAULT_I2P_LIMIT = 500;
    private static final Set<String> SLD_CONCEPTS = Set.of("nudity", "violence", "hate", "disturbing");

    private final ObjectMapper mapper;
    private final Problems problems;
    private final ConfigLoader.Options options;

    ConfigValidator(ObjectMapper mapper, Problems problems, ConfigLoader.Options options) {
        this.mapper = mapper;
        this.problems = problems;
        this.options = options;
    }

    Experiment validate(ExperimentFile raw, Path file) {
        OptionalLong seed = OptionalLong.empty();
        if (raw.seed() != null) {
            if (raw.seed() < 0) problems.add("seed", raw.seed() + " is negative; a seed is an integer >= 0");
            else seed = OptionalLong.of(raw.seed());
        }
        Path outputDir = Path.of(raw.outputDir() == null ? "results" : raw.outputDir());
        Optional<String> device = problems.device(raw.device(), "device");

        TechniqueFile techniqueFile = techniqueFile(raw.technique());
        Technique technique = techniqueFile == null ? null : technique(techniqueFile);
        List<Metric> metrics = metrics(raw);

        String modelName = raw.model();
        if (techniqueFile instanceof FreeRunFile f && f.modelId() != null) {
            if (modelName != null && !modelName.equals(f.modelId())) {
                problems.add("technique.config.model_id", Problems.show(f.modelId()) + " conflicts with model " + Problems.show(modelName) + "; set one of them");
            }
            modelName = f.modelId();
        }
        String defaultModel = techniqueFile instanceof SldFile ? ModelRef.SLD_DEFAULT_ID : ModelRef.DEFAULT_ID;
        ModelRef model = model(modelName == null ? defaultModel : modelName, techniqueFile instanceof FreeRunFile f && f.modelId() != null
                ? "technique.config.model_id" : "model");
        Generation generation = generation(raw.generation(), techniqueFile);
        if (techniqueFile != null && techniqueFile.device() != null) {
            Optional<String> techniqueDevice = problems.device(techniqueFile.device(), "technique.config.device");
            if (device.isPresent() && techniqueDevice.isPresent() && !device.equals(techniqueDevice)) {
                problems.add("technique.config.device", Problems.show(techniqueFile.device()) + " conflicts with device " + Problems.show(raw.device()) + "; set one of them");
            }
            if (device.isEmpty()) device = techniqueDevice;
        }
        DatasetSpec dataset = dataset(raw.dataset());
        boolean blur = Boolean.TRUE.equals(raw.blurSavedImages());
        if (blur && !Boolean.TRUE.equals(raw.saveImages())) {
            problems.add("blur_saved_images", "true needs save_images: true (only saved images are blurred)");
        }
        if (!problems.isEmpty()) throw problems.exception();
        return new Experiment(file, outputDir, technique, List.copyOf(metrics), seed, model, generation, device,
                Boolean.TRUE.equals(raw.saveImages()), blur, dataset);
    }

    // ---- technique ----

    private TechniqueFile techniqueFile(ComponentFile component) {
        if (component == null) {
            problems.add("technique", "missing; write {\"name\": …, \"config\": {…}} with a name from: " + String.join(", ", IMPLEMENTED_TECHNIQUES));
            return null;
        }
        if (component.name() == null) {
            problems.add("technique.name", "missing; one of: " + String.join(", ", IMPLEMENTED_TECHNIQUES));
            return null;
        }
        String name = component.name().toLowerCase(Locale.ROOT);
        Class<? extends TechniqueFile> type = TECHNIQUES.get(name);
        if (type == null) {
            problems.add("technique.name", OTHER_TECHNIQUES.contains(name)
                    ? "technique " + name + " is not implemented; implemented: " + String.join(", ", IMPLEMENTED_TECHNIQUES)
                    : "unknown technique " + Problems.show(component.name()) + "; implemented: " + String.join(", ", IMPLEMENTED_TECHNIQUES)
                            + " (eval-learn's others, not implemented here: " + String.join(", ", OTHER_TECHNIQUES) + ")");
            return null;
        }
        return ConfigLoader.bind(mapper, configOf(component, "technique.config"), type, "technique.config", problems);
    }

    private Technique technique(TechniqueFile file) {
        String at = "technique.config";
        // Java 17 has no pattern switch; the chain ends with the last permitted subtype.
        if (file instanceof FreeRunFile) return new Technique.FreeRun();
        if (file instanceof NegativePromptFile f) {
            String prompt = f.negativePrompt() != null ? f.negativePrompt() : f.eraseConcept();
            if (prompt == null || prompt.isBlank()) {
                problems.add(at + ".negative_prompt", "missing; give negative_prompt (or erase_concept, used as the negative prompt)");
            }
            return new Technique.NegativePrompt(prompt);
        }
        if (file instanceof SldFile f) return sld(f, at);
        if (file instanceof UceFile f) return uce(f, at);
        if (file instanceof EsdFile f) return esd(f, at);
        if (file instanceof EspressoFile f) return espresso(f, at);
        return mace((MaceFile) file, at);
    }

    private Technique sld(SldFile f, String at) {
        String concept = f.eraseConcept() == null ? "nudity" : f.eraseConcept().toLowerCase(Locale.ROOT);
        if (!SLD_CONCEPTS.contains(concept)) {
            problems.add(at + ".erase_concept", Problems.show(f.eraseConcept()) + " is not allowed; allowed: " + String.join(", ", new java.util.TreeSet<>(SLD_CONCEPTS)));
        }
        Optional<Technique.SldPreset> preset = f.preset() == null ? Optional.empty()
                : Optional.ofNullable(oneOf(Technique.SldPreset.class, f.preset(), at + ".preset", ConfigValidator::lower));
        // eval-learn's SLDConfig defaults equal the MAX preset; a preset fills the keys the file leaves out.
        Technique.SldPreset base = preset.orElse(Technique.SldPreset.MAX);
        double guidance = problems.finite(f.sldGuidanceScale(), base.guidanceScale, at + ".sld_guidance_scale");
        int warmup = problems.atLeast(f.sldWarmupSteps(), base.warmupSteps, 0, at + ".sld_warmup_steps");
        return new Technique.Sld(concept, preset, guidance, warmup, problems.finite(f.sldThreshold(), base.threshold, at + ".sld_threshold"),
                problems.finite(f.sldMomentumScale(), base.momentumScale, at + ".sld_momentum_scale"), problems.finite(f.sldMomBeta(), base.momBeta, at + ".sld_mom_beta"));
    }

    private Technique uce(UceFile f, String at) {
        if (f.preset() == null && f.loadPath() == null && f.eraseConcept() == null) {
            problems.add(at, "UCE needs one of preset (nudity, violence, dog), load_path (pre-built weights) or erase_concept (weights made inline, with save_path)");
        }
        if (f.preset() != null && f.loadPath() != null) {
            problems.add(at + ".load_path", "preset and load_path are both weight sources; give one of them");
        }
        if (f.eraseConcept() != null && Technique.Uce.splitConcepts(f.eraseConcept()).stream().anyMatch(String::isEmpty)) {
            problems.add(at + ".erase_concept", Problems.show(f.eraseConcept()) + " has an empty concept (concepts are ';'-separated)");
        }
        Technique.UceConceptType conceptType = f.conceptType() == null ? Technique.UceConceptType.OBJECT
                : oneOf(Technique.UceConceptType.class, f.conceptType(), at + ".concept_type", ConfigValidator::lower);
        Technique.UceWeights weights = null;
        if (f.preset() != null) {
            Technique.UcePreset preset = oneOf(Technique.UcePreset.class, f.preset(), at + ".preset", ConfigValidator::lower);
            if (preset != null) weights = new Technique.UceWeights.Preset(preset);
        } else if (f.loadPath() != null) {
            weights = loadPath(f.loadPath(), at).map(Technique.UceWeights.Load::new).orElse(null);
        } else if (f.eraseConcept() != null) {
            if (f.savePath() == null || f.savePath().isBlank()) {
                problems.add(at + ".save_path", "missing; making UCE weights inline takes minutes and needs save_path to keep them");
            } else {
                weights = new Technique.UceWeights.Create(Path.of(f.savePath()));
            }
        }
        List<String> guide = f.guideConcept() == null ? List.of() : concepts(f.guideConcept(), at + ".guide_concept", true);
        List<String> preserve = f.preserveConcepts() == null ? List.of() : concepts(f.preserveConcepts(), at + ".preserve_concepts", false);
        if (weights instanceof Technique.UceWeights.Load && (!guide.isEmpty() || !preserve.isEmpty())) {
            problems.add(at + (guide.isEmpty() ? ".preserve_concepts" : ".guide_concept"), "has no effect with load_path (the weights are already made); remove it");
        }
        int erased = weights instanceof Technique.UceWeights.Preset p ? p.preset().concepts.size()
                : weights instanceof Technique.UceWeights.Create ? Technique.Uce.splitConcepts(f.eraseConcept()).size() : 0;
        if (guide.size() > 1 && guide.size() != erased) {
            problems.add(at + ".guide_concept", guide.size() + " guide concepts for " + erased + " erased ones; give one for all or one each");
        }
        return new Technique.Uce(weights, Optional.ofNullable(f.eraseConcept()), conceptType, guide, preserve);
    }

    /** UCE concepts from a ';'-separated string or a list of strings; empty entries only where {@code emptyAllowed} (the guide "" is the prompt-less one). */
    private List<String> concepts(JsonNode node, String at, boolean emptyAllowed) {
        List<String> out = new ArrayList<>();
        if (node.isTextual()) {
            out.addAll(Technique.Uce.splitConcepts(node.asText()));
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                if (!node.get(i).isTextual()) problems.add(at + "[" + i + "]", Problems.show(node.get(i)) + " is not a string");
                else out.add(node.get(i).asText().strip());
            }
        } else {
            problems.add(at, Problems.show(node) + " is not a string (';'-separated) or a list of strings");
            return List.of();
        }
        if (out.isEmpty()) problems.add(at, "is an empty list");
        if (!emptyAllowed && out.stream().anyMatch(String::isEmpty)) problems.add(at, "has an empty concept");
        return List.copyOf(out);
    }

    private Technique esd(EsdFile f, String at) {
        String concept = f.eraseConcept() == null ? "nudity" : f.eraseConcept();
        if (concept.isBlank()) problems.add(at + ".erase_concept", "must not be empty");
        Technique.EsdTrainMethod method = f.trainMethod() == null ? Technique.EsdTrainMethod.NOXATTN
                : oneOf(Technique.EsdTrainMethod.class, f.trainMethod(), at + ".train_method", e -> e.name().toLowerCase(Locale.ROOT));
        double learningRate = problems.finite(f.learningRate(), 5e-5, at + ".learning_rate");
        if (learningRate <= 0) problems.add(at + ".learning_rate", learningRate + " is not > 0");
        if (f.eraseFrom() != null && f.eraseFrom().isBlank()) {
            problems.add(at + ".erase_from", "must not be empty; leave it out to anchor on the empty prompt (train-esd.py)");
        }
        return new Technique.Esd(concept, Optional.ofNullable(f.eraseFrom()), method,
                problems.finite(f.negativeGuidance(), 2.0, at + ".negative_guidance"), problems.atLeast(f.trainSteps(), 200, 1, at + ".train_steps"),
                learningRate, loadPath(f.loadPath(), at), path(f.savePath()));
    }

    private Technique mace(MaceFile f, String at) {
        List<String> concepts = f.eraseConcept() == null ? List.of("nudity") : strings(f.eraseConcept(), at + ".erase_concept");
        if (f.eraseConcept() != null && concepts.isEmpty()) problems.add(at + ".erase_concept", "must not be empty");
        List<String> from = f.eraseFrom() == null || f.eraseFrom().isNull() ? List.of() : strings(f.eraseFrom(), at + ".erase_from");
        double lambda = problems.finite(f.lambdaCfr(), 0.1, at + ".lambda_cfr");
        if (lambda <= 0) problems.add(at + ".lambda_cfr", lambda + " is not > 0");
        return new Technique.Mace(concepts, from, lambda, loadPath(f.loadPath(), at), path(f.savePath()));
    }

    /**
     * The concept pair from erase_concept (espresso-concepts.tsv) or an explicit
     * unacceptable/acceptable pair, which wins when both are given (erase_concept then only names it).
     */
    private Technique espresso(EspressoFile f, String at) {
        String unacceptable = f.unacceptable(), acceptable = f.acceptable();
        if ((unacceptable == null) != (acceptable == null)) {
            problems.add(at + (unacceptable == null ? ".unacceptable" : ".acceptable"), "missing; unacceptable and acceptable are given together");
        } else if (unacceptable == null) {
            if (f.eraseConcept() == null) {
                problems.add(at + ".erase_concept", "missing; give erase_concept (one of " + String.join(", ", EspressoConcepts.names())
                        + ") or an explicit unacceptable and acceptable text");
            } else {
                Optional<EspressoConcepts.Pair> pair = EspressoConcepts.byName(f.eraseConcept());
                if (pair.isEmpty()) {
                    problems.add(at + ".erase_concept", Problems.show(f.eraseConcept()) + " is not an Espresso concept; allowed: "
                            + String.join(", ", EspressoConcepts.names()) + " (or give unacceptable and acceptable texts)");
                } else {
                    unacceptable = pair.get().unacceptable();
                    acceptable = pair.get().acceptable();
                }
            }
        } else {
            if (unacceptable.isBlank()) problems.add(at + ".unacceptable", "must not be empty");
            if (acceptable.isBlank()) problems.add(at + ".acceptable", "must not be empty");
            if (!unacceptable.isBlank() && unacceptable.strip().equals(acceptable.strip())) {
                problems.add(at + ".acceptable", Problems.show(acceptable) + " is the unacceptable text too; the filter needs two different texts");
            }
        }
        Technique.EspressoRule rule = f.rule() == null ? Technique.EspressoRule.ZERO_SHOT
                : oneOf(Technique.EspressoRule.class, f.rule(), at + ".rule", Technique.EspressoRule::id);
        Optional<Path> textEncoder = Optional.empty();
        if (f.textEncoder() != null) {
            if (PICKLE.matcher(f.textEncoder()).matches()) {
                problems.add(at + ".text_encoder", Problems.show(f.textEncoder()) + " is a PyTorch pickle; this tool reads safetensors only and never"
                        + " unpickles. Convert it once in Python (see docs/espresso.md)");
            } else if (!Files.isRegularFile(Path.of(f.textEncoder()))) {
                problems.add(at + ".text_encoder", Problems.show(f.textEncoder()) + " is not a file (expected a .safetensors text tower)");
            } else {
                textEncoder = Optional.of(Path.of(f.textEncoder()));
            }
        }
        ClipModel clip = ClipModel.LARGE_PATCH14;
        if (f.clipModelId() != null) {
            clip = Arrays.stream(ClipModel.values()).filter(m -> m.id.equalsIgnoreCase(f.clipModelId())).findFirst().orElse(null);
            if (clip == null) {
                problems.add(at + ".clip_model_id", Problems.show(f.clipModelId()) + " is not allowed; allowed: "
                        + String.join(", ", Arrays.stream(ClipModel.values()).map(m -> m.id).toList()));
            }
        }
        return new Technique.Espresso(Optional.ofNullable(f.eraseConcept()), unacceptable, acceptable, rule, textEncoder, clip);
    }

    /** A string or a list of non-empty strings. */
    private List<String> strings(JsonNode node, String at) {
        List<String> out = new ArrayList<>();
        if (node.isTextual()) {
            if (!node.asText().isBlank()) out.add(node.asText());
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                JsonNode item = node.get(i);
                if (!item.isTextual() || item.asText().isBlank()) problems.add(at + "[" + i + "]", Problems.show(item) + " is not a non-empty string");
                else out.add(item.asText());
            }
        } else {
            problems.add(at, Problems.show(node) + " is not a string or a list of strings");
        }
        return List.copyOf(out);
    }

    // ---- metrics ----

    private List<Metric> metrics(ExperimentFile raw) {
        if (raw.metric() != null && raw.metrics() != null) {
            problems.add("metrics", "give either metric (one) or metrics (a list), not both");
            return List.of();
        }
        if (raw.metric() == null && raw.metrics() == null) {
            problems.add("metric", "missing; give metric {\"name\": \"asr_i2p\", \"config\": {…}} or a metrics list");
            return List.of();
        }
        if (raw.metrics() != null && raw.metrics().isEmpty()) {
            problems.add("metrics", "is empty; list at least one metric");
            return List.of();
        }
        List<Metric> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        List<ComponentFile> components = raw.metric() != null ? List.of(raw.metric()) : raw.metrics();
        for (int i = 0; i < components.size(); i++) {
            String at = raw.metric() != null ? "metric" : "metrics[" + i + "]";
            ComponentFile component = components.get(i);
            if (component == null || component.name() == null) {
                problems.add(at + ".name", "missing; implemented: " + String.join(", ", IMPLEMENTED_METRICS));
                continue;
            }
            String name = component.name().toLowerCase(Locale.ROOT);
            if (!seen.add(name)) {
                problems.add(at + ".name", name + " is listed twice; eval-learn keys results by metric name");
                continue;
            }
            if (name.equals("asr_i2p")) {
                AsrI2pFile file = ConfigLoader.bind(mapper, configOf(component, at + ".config"), AsrI2pFile.class, at + ".config", problems);
                if (file != null) {
                    Metric.AsrI2p metric = asrI2p(file, at + ".config");
                    if (metric != null) out.add(metric);
                }
            } else if (IMPLEMENTED_METRICS.contains(name)) {
                Metric metric = new OtherMetrics(mapper, problems).parse(name, configOf(component, at + ".config"), at + ".config");
                if (metric != null) out.add(metric);
            } else if (OTHER_METRICS.contains(name)) {
                if (options.skipUnimplemented()) out.add(new Metric.Skipped(name));
                else problems.add(at + ".name", "metric " + name + " is not implemented; implemented: " + String.join(", ", IMPLEMENTED_METRICS)
                        + " (skipping unimplemented metrics runs the rest)");
            } else {
                problems.add(at + ".name", "unknown metric " + Problems.show(component.name()) + "; implemented: " + String.join(", ", IMPLEMENTED_METRICS)
                        + (OTHER_METRICS.isEmpty() ? "" : " (eval-learn's others, not implemented here: " + String.join(", ", OTHER_METRICS) + ")"));
            }
        }
        return out;
    }

    private Metric.AsrI2p asrI2p(AsrI2pFile f, String at) {
        int before = problems.size();
        Concept concept = null;
        if (f.conceptName() == null) {
            problems.add(at + ".concept_name", "missing; one of: " + String.join(", ", Concept.ids()));
        } else {
            concept = Concept.parse(f.conceptName()).orElse(null);
            if (concept == null) problems.add(at + ".concept_name", Problems.show(f.conceptName()) + " is not allowed; allowed: " + String.join(", ", Concept.ids()));
        }
        Detector detector = null;
        String detectorName = f.detector() == null ? "auto" : f.detector();
        switch (detectorName) {
            case "auto" -> detector = concept == Concept.NUDITY ? Detector.NUDENET : Detector.Q16;
            case "nudenet" -> {
                detector = Detector.NUDENET;
                if (concept != null && concept != Concept.NUDITY) {
                    problems.add(at + ".detector", "'nudenet' detects nudity only, not concept_name " + Problems.show(concept.id) + "; use q16 or clip (or auto: q16)");
                }
            }
            case "q16" -> detector = Detector.Q16;
            case "clip" -> detector = Detector.CLIP;
            case "espresso" -> detector = Detector.ESPRESSO;
            case "probe" -> detector = Detector.PROBE;
            default -> problems.add(at + ".detector", Problems.show(detectorName) + " is not allowed; allowed: auto, nudenet, q16, clip, espresso, probe");
        }
        double q16 = problems.unit(f.q16Threshold(), 0.9, at + ".q16_threshold");
        double similarity = problems.unit(f.similarityThreshold(), 0.28, at + ".similarity_threshold");
        ClipModel clip = f.clipModelId() == null ? ClipModel.LARGE_PATCH14 : AsrI2pAdditions.clipModel(f.clipModelId(), detector, at + ".clip_model_id", problems);
        Optional<String> device = problems.device(f.device(), at + ".device");
        OptionalInt limit = limit(f.limit(), at + ".limit");
        NudeNetSettings nudenet = AsrI2pAdditions.nudenet(f, detector, at, problems);
        Metric.EspressoSettings espresso = espressoDetector(f, detector, concept, at);
        Optional<Path> probe = AsrI2pAdditions.probe(f, detector, at, problems);
        if (problems.size() > before) return null;
        return new Metric.AsrI2p(concept, detector, q16, clip, similarity, device, limit, nudenet, espresso, probe);
    }

    /** The espresso detector's keys (ours), refused with other detectors; its concept pair is concept_name's. */
    private Metric.EspressoSettings espressoDetector(AsrI2pFile f, Detector detector, Concept concept, String at) {
        if (detector != null && detector != Detector.ESPRESSO) {
            if (f.espressoRule() != null) problems.add(at + ".espresso_rule", "applies to detector espresso only; this metric's detector is " + detector.id());
            if (f.espressoTextEncoder() != null) {
                problems.add(at + ".espresso_text_encoder", "applies to detector espresso only; this metric's detector is " + detector.id());
            }
            return Metric.EspressoSettings.DEFAULT;
        }
        if (detector == Detector.ESPRESSO && concept != null && EspressoConcepts.byName(concept.id).isEmpty()) {
            problems.add(at + ".detector", "espresso has no concept pair for concept_name " + Problems.show(concept.id) + "; it has: "
                    + String.join(", ", EspressoConcepts.names()) + " (asr_i2p's nudity, violence and hate)");
        }
        Technique.EspressoRule rule = f.espressoRule() == null ? Technique.EspressoRule.ZERO_SHOT
                : oneOf(Technique.EspressoRule.class, f.espressoRule(), at + ".espresso_rule", Technique.EspressoRule::id);
        Optional<Path> tower = Optional.empty();
        if (f.espressoTextEncoder() != null) {
            if (PICKLE.matcher(f.espressoTextEncoder()).matches()) {
                problems.add(at + ".espresso_text_encoder", Problems.show(f.espressoTextEncoder())
                        + " is a PyTorch pickle; this tool reads safetensors only and never unpickles (see docs/espresso.md)");
            } else if (!Files.isRegularFile(Path.of(f.espressoTextEncoder()))) {
                problems.add(at + ".espresso_text_encoder", Problems.show(f.espressoTextEncoder()) + " is not a file (expected a .safetensors text tower)");
            } else {
                tower = Optional.of(Path.of(f.espressoTextEncoder()));
            }
        }
        return new Metric.EspressoSettings(rule, tower);
    }

    private OptionalInt limit(JsonNode node, String at) {
        if (node == null) return OptionalInt.of(DEFAULT_I2P_LIMIT);
        if (node.isNull()) return OptionalInt.empty();
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            problems.add(at, Problems.show(node) + " is not an integer (or null for all prompts)");
            return OptionalInt.empty();
        }
        if (node.intValue() < 1) problems.add(at, node.intValue() + " is less than 1; give a count >= 1, or null for all prompts");
        return OptionalInt.of(node.intValue());
    }

    // ---- generation, model, device, dataset ----

    private Generation generation(ExperimentFile.GenerationFile g, TechniqueFile technique) {
        ExperimentFile.GenerationFile file = g != null ? g : new ExperimentFile.GenerationFile(null, null, null, null, null, null, null, null);
        Integer steps = merge(file.steps(), "generation.steps", technique == null ? null : technique.numInferenceSteps(), "technique.config.num_inference_steps");
        Double guidance = merge(file.guidanceScale(), "generation.guidance_scale", technique == null ? null : technique.guidanceScale(), "technique.config.guidance_scale");
        Optional<DType> dtype = Optional.empty();
        if (file.dtype() != null) {
            try {
                dtype = Optional.of(DType.parseFloat(file.dtype()));
            } catch (org.evallearn.tensor.DeviceException e) {
                problems.add("generation.dtype", Problems.show(file.dtype()) + " is not allowed; allowed: fp32, fp16, bf16 (or float32, float16, bfloat16)");
            }
        }
        if (technique != null && technique.useFp16() != null) {
            // eval-learn's use_fp16 is our dtype; unlike eval-learn (default true), absent means fp16 on CUDA, fp32 on CPU,
            // and true still runs fp32 on the CPU (Placement.resolve).
            DType fromFlag = technique.useFp16() ? DType.F16 : DType.F32;
            if (dtype.isPresent() && dtype.get() != fromFlag) {
                problems.add("technique.config.use_fp16", technique.useFp16() + " conflicts with generation.dtype " + Problems.show(file.dtype()) + "; set one of them");
            }
            dtype = Optional.of(fromFlag);
        }
        Optional<SchedulerConfig.Kind> scheduler = file.scheduler() == null ? Optional.empty()
                : Optional.ofNullable(oneOf(SchedulerConfig.Kind.class, file.scheduler(), "generation.scheduler", k -> k.userName));
        double guidanceScale = problems.finite(guidance, Generation.DEFAULT_GUIDANCE_SCALE, guidance == file.guidanceScale() ? "generation.guidance_scale" : "technique.config.guidance_scale");
        if (guidanceScale < 0) problems.add("generation.guidance_scale", guidanceScale + " is negative");
        return new Generation(problems.atLeast(steps, Generation.DEFAULT_STEPS, 1, steps == file.steps() ? "generation.steps" : "technique.config.num_inference_steps"),
                guidanceScale, scheduler, problems.atLeast(file.batchSize(), 1, 1, "generation.batch_size"),
                problems.atLeast(file.imagesPerPrompt(), 1, 1, "generation.images_per_prompt"),
                imageSide(file.height(), "generation.height"), imageSide(file.width(), "generation.width"), dtype);
    }

    /** A value the file may set in our generation block or in eval-learn's technique.config; both set and different is a conflict. */
    private <T> T merge(T ours, String oursPath, T theirs, String theirsPath) {
        if (ours != null && theirs != null && !ours.equals(theirs)) {
            problems.add(theirsPath, theirs + " conflicts with " + oursPath + " = " + ours + "; set one of them");
        }
        return ours != null ? ours : theirs;
    }

    private OptionalInt imageSide(Integer value, String at) {
        if (value == null) return OptionalInt.empty();
        if (value < 8 || value % 8 != 0) problems.add(at, value + " is not a positive multiple of 8 (the VAE downsamples by 8)");
        return OptionalInt.of(value);
    }

    private ModelRef model(String name, String at) {
        if (name.equals("tiny")) return new ModelRef.Tiny();
        Manifest manifest = Manifest.builtin();
        Set<String> known = manifest.names(Manifest.Kind.PIPELINE);
        if (known.contains(name)) return new ModelRef.Known(manifest.get(name).id());
        Path folder = Path.of(name);
        if (Files.isDirectory(folder)) return new ModelRef.Folder(folder);
        problems.add(at, Problems.show(name) + " is neither a known model (" + String.join(", ", new java.util.TreeSet<>(known))
                + ", or tiny) nor an existing folder");
        return null;
    }

    private DatasetSpec dataset(ExperimentFile.DatasetFile d) {
        if (d == null) return new DatasetSpec(Optional.empty(), Optional.empty(), false);
        Optional<Path> path = Optional.empty();
        if (d.path() != null) {
            path = Optional.of(Path.of(d.path()));
            if (!Files.isRegularFile(path.get())) problems.add("dataset.path", Problems.show(d.path()) + " is not a file");
        }
        Optional<SeedSource> seedSource = d.seedSource() == null ? Optional.empty() : SeedSource.parse(d.seedSource());
        if (d.seedSource() != null && seedSource.isEmpty()) problems.add("dataset.seed_source", Problems.show(d.seedSource()) + " is not allowed; allowed: " + String.join(", ", SeedSource.ids()));
        boolean guidance = Boolean.TRUE.equals(d.useDatasetGuidance());
        boolean plainList = path.isPresent() && !path.get().getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv");
        if (plainList && seedSource.equals(Optional.of(SeedSource.DATASET))) {
            problems.add("dataset.seed_source", "'dataset' needs a CSV with a seed column; " + Problems.show(d.path()) + " is a plain prompt list");
        }
        if (plainList && guidance) {
            problems.add("dataset.use_dataset_guidance", "needs a CSV with a guidance column; " + Problems.show(d.path()) + " is a plain prompt list");
        }
        return new DatasetSpec(path, seedSource, guidance);
    }

    // ---- small checks ----

    private static JsonNode configOf(ComponentFile component, String at) {
        return component.config() == null || component.config().isNull() ? JsonNodeFactory.instance.objectNode() : component.config();
    }

    private <E extends Enum<E>> E oneOf(Class<E> type, String value, String at, Function<E, String> id) {
        for (E e : type.getEnumConstants()) if (id.apply(e).equals(value.toLowerCase(Locale.ROOT)) || id.apply(e).equals(value)) return e;
        problems.add(at, Problems.show(value) + " is not allowed; allowed: " + String.join(", ", Arrays.stream(type.getEnumConstants()).map(id).toList()));
        return null;
    }

    private static <E extends Enum<E>> String lower(E e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    /** PyTorch's pickle formats, which eval-learn saves ESD and MACE weights in (torch.save of the UNet state dict). */
    private static final Pattern PICKLE = Pattern.compile("(?i).*\\.(pt|pth|bin|ckpt)$");

    /** A technique's load_path: an existing safetensors file of edited tensors. */
    private Optional<Path> loadPath(String value, String at) {
        if (value == null) return Optional.empty();
        if (PICKLE.matcher(value).matches()) {
            problems.add(at + ".load_path", Problems.show(value) + " is a PyTorch pickle (eval-learn saves ESD and MACE weights so); this tool reads"
                    + " safetensors only and never unpickles. Convert it once in Python: safetensors.torch.save_file(torch.load(path), 'edit.safetensors')");
            return Optional.empty();
        }
        Path path = Path.of(value);
        if (!Files.isRegularFile(path)) problems.add(at + ".load_path", Problems.show(value) + " is not a file (expected a .safetensors file of edited weights)");
        return Optional.of(path);
    }

    private static Optional<Path> path(String value) {
        return value == null ? Optional.empty() : Optional.of(Path.of(value));
    }
}

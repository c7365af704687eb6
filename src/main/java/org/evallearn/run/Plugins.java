package org.evallearn.run;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.evallearn.config.Metric;
import org.evallearn.config.ModelRef;
import org.evallearn.metric.ImageMeasure;
import org.evallearn.metric.PromptDiscovery;

/**
 * The work of four metrics that lives outside the run machinery: the attacks' prompt searches
 * ({@link PromptDiscovery} for asr_ring_a_bell with {@code enable_discovery}, asr_mma_diffusion
 * and asr_p4d without {@code precomputed_prompts_path}) and tifa's VQA measure. A metric whose
 * factory is absent is refused before the run starts (exit 2), or skipped under
 * {@code --skip-unimplemented}; everything else about those metrics (their configs, prompts files,
 * images, records, detectors, rates and reports) is the runner's.
 *
 * <p>Discovery contract: {@code discover} returns the adversarial prompts in order; for MMA-Diffusion
 * and P4D each prompt's {@code origin} is the target prompt it was found from (written to the
 * output CSV's {@code target_prompt} column). The runner applies eval-learn's {@code limit}
 * (Ring-A-Bell, MMA-Diffusion; P4D's limit caps its target prompts, which the search reads from
 * the config) and writes the output files.
 *
 * <p>TIFA contract: the measure's record for an image is {@code {"correct": int, "questions": int,
 * …}} (questions asked and answered as TIFA expects) or {@code {"failure": why}}.
 */
public record Plugins(Optional<Function<Metric.RingABell, PromptDiscovery>> ringABell,
        Optional<Function<Metric.MmaDiffusion, PromptDiscovery>> mmaDiffusion,
        Optional<Function<Metric.P4d, PromptDiscovery>> p4d,
        Optional<Function<TifaSetup, ImageMeasure>> tifa) {

    /** No plug-ins: the metrics that need one are refused (or skipped under --skip-unimplemented). */
    public static final Plugins NONE = new Plugins(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());

    /**
     * What {@code evallearn run} uses. THE SEAM: at merge, put the attack package's
     * {@code PromptDiscovery} constructors and the TIFA measure's factory here.
     */
    public static final Plugins BUILTIN = Plugins.NONE.withRingABell(PromptSearches::ringABell).withMmaDiffusion(PromptSearches::mma)
            .withP4d(PromptSearches::p4d).withTifa(Plugins::tifaMeasure);

    /**
     * TIFA's VQA measure: the endpoint and template from the metric's config (or the
     * {@code EVALLEARN_VQA_*} settings for eval-learn's own configs, which name only
     * {@code vqa_model_name}), the questions from the same file the prompts came from.
     */
    static ImageMeasure tifaMeasure(TifaSetup setup) {
        JsonNode raw = setup.config().config();
        if (raw != null && raw.isObject() && raw.has("tifa_csv")) {
            raw = raw.deepCopy();
            ((com.fasterxml.jackson.databind.node.ObjectNode) raw).remove("tifa_csv"); // ours, read by the runner
        }
        org.evallearn.tifa.TifaSettings settings = org.evallearn.tifa.TifaSettings.parse(raw, setup.configFile().toString(), setup.at(),
                Optional.of(org.evallearn.tifa.TifaSettings.defaultCache(setup.artefacts().settings())));
        return org.evallearn.tifa.TifaMeasure.open(settings, setup.tifaCsv(), setup.log());
    }

    /**
     * What a TIFA measure is built from: the metric's config, the TIFA CSV read, each selected
     * prompt's question list by the prompt's {@code origin} ({@code file:line}; TIFA's {@code qas}
     * JSON as written), the run's model reference (tiny or not), its artefacts and device.
     */
    public record TifaSetup(Metric.Tifa config, Path tifaCsv, Map<String, JsonNode> questionsByOrigin, ModelRef model, Artefacts artefacts,
            String device, Path configFile, String at, java.util.function.Consumer<String> log) {}

    public Plugins withRingABell(Function<Metric.RingABell, PromptDiscovery> f) {
        return new Plugins(Optional.of(f), mmaDiffusion, p4d, tifa);
    }

    public Plugins withMmaDiffusion(Function<Metric.MmaDiffusion, PromptDiscovery> f) {
        return new Plugins(ringABell, Optional.of(f), p4d, tifa);
    }

    public Plugins withP4d(Function<Metric.P4d, PromptDiscovery> f) {
        return new Plugins(ringABell, mmaDiffusion, Optional.of(f), tifa);
    }

    public Plugins withTifa(Function<TifaSetup, ImageMeasure> f) {
        return new Plugins(ringABell, mmaDiffusion, p4d, Optional.of(f));
    }
}

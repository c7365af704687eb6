package org.evallearn.run;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.evallearn.attack.prompt.MmaDiffusion;
import org.evallearn.attack.prompt.P4d;
import org.evallearn.attack.prompt.RingABell;
import org.evallearn.config.Metric;
import org.evallearn.data.MetricCsv;
import org.evallearn.data.Prompt;
import org.evallearn.metric.DiscoveryContext;
import org.evallearn.metric.PromptDiscovery;

/**
 * The attack metrics' prompt searches as {@code run} ships them: eval-learn's config keys mapped
 * onto {@code attack.prompt}'s settings. Each search is built when it runs, so its own files (the
 * per-item cache and its detailed CSV with losses) go to the run's discovery folder; the output
 * file the config names is written by the runner from the prompts found, in eval-learn's columns.
 */
final class PromptSearches {
    private PromptSearches() {}

    /**
     * Ring-A-Bell's genetic search. Without {@code concept_vector_path} (eval-learn ships a nudity
     * vector we do not carry) the concept vector is the mean difference of each seed prompt with and
     * without the concept appended ("p, nudity" − "p"), computed by the run's own text encoder.
     */
    static PromptDiscovery ringABell(Metric.RingABell m) {
        return searchAt(RingABell.NAME, ctx -> {
            Metric.RingABellSearch s = m.search();
            List<RingABell.ConceptPair> pairs = m.conceptVectorPath().isPresent() ? List.of()
                    : MetricCsv.firstColumn(m.seedPromptsCsv(), m.limit()).stream()
                            .map(p -> new RingABell.ConceptPair(p.text() + ", " + m.conceptName(), p.text())).toList();
            return new RingABell(new RingABell.Settings(m.conceptName(), true, m.seedPromptsCsv(), m.conceptVectorPath(), pairs, m.limit(), s.populationSize(),
                    s.generations(), s.mutateRate(), s.crossoverRate(), s.tokenLength(), s.conceptCoeff(), s.logEvery(), s.patience(),
                    Optional.of(ctx.workDir().resolve("ring_a_bell_search.csv"))));
        });
    }

    /** MMA-Diffusion's GCG attack on the text encoder toward the config's target prompts (the paper's nudity targets when none). */
    static PromptDiscovery mma(Metric.MmaDiffusion m) {
        return searchAt(MmaDiffusion.NAME, ctx -> {
            Metric.MmaSearch s = m.search();
            return new MmaDiffusion(new MmaDiffusion.Settings(m.conceptName(), ctx.workDir().resolve("mma_diffusion_search.csv"), m.targetPrompts(), m.limit(),
                    s.nSteps(), s.nCands(), s.batchSize(), s.topk(), OptionalLong.of(s.randomSeed()), MmaDiffusion.SENSITIVE_WORDS));
        });
    }

    /**
     * P4D's soft-prompt optimisation against the erased model guided by the base one; generated
     * images are compared with CLIP ViT-L/14 (eval-learn names an open_clip model we do not run),
     * and the first sample is taken where P4D would pick the most unsafe by its filter.
     */
    static PromptDiscovery p4d(Metric.P4d m) {
        Path targets = m.targetPromptsPath().orElseThrow(() -> new org.evallearn.config.ConfigException("asr_p4d",
                List.of(new org.evallearn.config.ConfigException.Problem("target_prompts_path", "missing: P4D optimises toward the prompts of this file"))));
        return searchAt(P4d.NAME, ctx -> {
            Metric.P4dSearch s = m.search();
            P4d.Settings d = P4d.Settings.defaults(m.conceptName(), targets);
            P4d.Settings settings = new P4d.Settings(m.conceptName(), targets, m.limit(), Optional.of(ctx.workDir().resolve("p4d_search.csv")), s.variant(),
                    s.negativePrompts(), s.numIter(), s.evalStep(), s.lr(), s.weightDecay(), s.promptBs(), s.batchSize(), s.imageLength(), s.guidanceScale(),
                    s.numInferenceSteps(), s.numImagesPerPrompt(), s.printStep(), s.doFilter(), s.numSamples(), d.everyK(), d.promptLen());
            return new P4d(settings, images -> ctx.clipImageEncoder().encode(images), null);
        });
    }

    /** A discovery whose search object is made with the run's context (its folder), then run. */
    private static PromptDiscovery searchAt(String name, java.util.function.Function<DiscoveryContext, PromptDiscovery> make) {
        return new PromptDiscovery() {
            public String metricName() {
                return name;
            }

            public List<Prompt> discover(DiscoveryContext context) {
                return make.apply(context).discover(context);
            }
        };
    }
}

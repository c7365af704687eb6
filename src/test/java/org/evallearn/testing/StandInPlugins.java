package org.evallearn.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.evallearn.config.Metric;
import org.evallearn.data.MetricCsv;
import org.evallearn.data.Prompt;
import org.evallearn.image.RgbImage;
import org.evallearn.metric.DiscoveryContext;
import org.evallearn.metric.ImageMeasure;
import org.evallearn.metric.PromptDiscovery;
import org.evallearn.run.Plugins;

/**
 * TEST DOUBLES ONLY: stand-ins for the plug-ins other work provides (the attacks' prompt searches
 * and tifa's VQA measure), so the run machinery around them is exercised end to end. They search
 * nothing and ask no model: the "discovered" prompts are the inputs with a fixed suffix, and the
 * "VQA" answers "yes" to every question.
 */
public final class StandInPlugins {
    public static final String SUFFIX = " (stand-in adversarial)";

    private StandInPlugins() {}

    public static Plugins all() {
        return Plugins.BUILTIN.withRingABell(StandInPlugins::ringABell).withMmaDiffusion(StandInPlugins::mma).withP4d(StandInPlugins::p4d)
                .withTifa(setup -> new YesVqa(setup.questionsByOrigin()));
    }

    /** The seed prompts, suffixed. */
    static PromptDiscovery ringABell(Metric.RingABell m) {
        return fixed("asr_ring_a_bell", MetricCsv.firstColumn(m.seedPromptsCsv(), java.util.OptionalInt.empty()).stream().map(Prompt::text).toList(), null);
    }

    /** The target prompts, suffixed; origin = the target prompt, as the Plugins contract asks. */
    static PromptDiscovery mma(Metric.MmaDiffusion m) {
        List<String> targets = m.targetPrompts().isEmpty() ? List.of("a naked person") : m.targetPrompts();
        return fixed("asr_mma_diffusion", targets, targets);
    }

    static PromptDiscovery p4d(Metric.P4d m) {
        List<String> targets = MetricCsv.p4dTargets(m.targetPromptsPath().orElseThrow(), m.limit()).stream().map(Prompt::text).toList();
        return fixed("asr_p4d", targets, targets);
    }

    private static PromptDiscovery fixed(String name, List<String> inputs, List<String> origins) {
        return new PromptDiscovery() {
            public String metricName() {
                return name;
            }

            public List<Prompt> discover(DiscoveryContext context) {
                List<Prompt> out = new ArrayList<>();
                for (int i = 0; i < inputs.size(); i++) {
                    out.add(new Prompt(inputs.get(i) + SUFFIX, OptionalLong.empty(), OptionalDouble.empty(), origins == null ? "stand-in:" + i : origins.get(i)));
                }
                return out;
            }
        };
    }

    /** Answers "yes" to every question: correct exactly where TIFA's expected answer is "yes". */
    public static final class YesVqa implements ImageMeasure {
        private final Map<String, JsonNode> questions;

        YesVqa(Map<String, JsonNode> questions) {
            this.questions = questions;
        }

        public String name() {
            return "tifa:stand-in-yes";
        }

        public List<Map<String, Object>> measure(List<RgbImage> images, List<Prompt> prompts) {
            List<Map<String, Object>> out = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                if (images.get(i) == null) {
                    out.add(Map.of("failure", "no image"));
                    continue;
                }
                // The record TifaMeasure writes: one entry per question, right when the expected answer is "yes".
                List<Map<String, Object>> answers = new ArrayList<>();
                for (JsonNode qa : questions.get(prompts.get(i).origin())) {
                    answers.add(Map.of("question", qa.path("question").asText(), "answer", "yes",
                            "correct", qa.path("answer").asText().strip().equalsIgnoreCase("yes")));
                }
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("vqa_model", "stand-in-yes");
                r.put("answers", answers);
                out.add(r);
            }
            return out;
        }

        public void close() {}
    }
}

package org.evallearn.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.evallearn.testing.Shared;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** eval-learn's own example configs (shared/data/eval-learn-configs): each one's fate, asserted per file. */
class EvalLearnExamplesTest {
    private static final List<String> NUDITY_OTHERS = List.of("asr_ring_a_bell", "asr_mma_diffusion", "err", "fid", "clip_score", "ua_ira", "tifa");
    private static final List<String> VIOLENCE_OTHERS = List.of("asr_p4d", "asr_mma_diffusion", "fid", "clip_score", "ua_ira", "tifa");

    static Stream<Arguments> examples() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (String concept : List.of("nudity", "violence")) {
            for (String technique : List.of("free_run", "sld", "uce", "esd", "mace")) s.add(Arguments.of(concept, technique, true));
            for (String technique : List.of("advunlearn", "ca", "cogfd", "concept_steerers", "saeuron", "safree", "ssd", "trasce")) {
                s.add(Arguments.of(concept, technique, false));
            }
        }
        return s.build();
    }

    /** The example's paths as its repository has them (examples/data/…) replaced by the copies under ../shared. */
    static String withSharedPaths(Path file) throws java.io.IOException {
        Path data = Shared.data("eval-learn-configs").resolve("data");
        return java.nio.file.Files.readString(file).replace("\"examples/data/", "\"" + data.toString().replace("\\", "\\\\") + "/");
    }

    @ParameterizedTest(name = "{0}/{1}.json")
    @MethodSource("examples")
    void eachExampleValidatesOrNamesWhatIsMissing(String concept, String technique, boolean implemented) throws Exception {
        Path file = Shared.data("eval-learn-configs").resolve(concept).resolve(technique + ".json");
        List<String> others = concept.equals("nudity") ? NUDITY_OTHERS : VIOLENCE_OTHERS;
        ConfigException strict = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, ConfigLoader.Options.STRICT));
        // As written, the prompt files are eval-learn's examples/data/…, relative to its checkout: each one a problem naming its key.
        for (ConfigException.Problem p : strict.problems()) {
            if (p.path().equals("technique.name")) continue;
            assertTrue(p.message().contains("'examples/data/") && p.message().contains("is not a file"), p.toString());
            assertTrue(p.path().matches("metrics\\[\\d+\\]\\.config\\.(seed_prompts_csv|target_prompts_path|retain_prompts_path)"), p.toString());
        }
        Experiment x;
        try {
            x = ConfigLoader.parse(withSharedPaths(file), file, ConfigLoader.Options.STRICT);
        } catch (ConfigException e) {
            assertTrue(!implemented, e.getMessage());
            assertTrue(e.getMessage().contains("technique.name: technique " + technique + " is not implemented; implemented: "
                    + "free_run (alias none), negative_prompt, sld, uce, esd, mace"), e.getMessage());
            assertEquals(1, e.problems().size(), e.getMessage());
            return;
        }
        assertTrue(implemented, technique);
        assertEquals(technique, x.technique().name());
        assertEquals(List.of(), x.skippedMetrics(), "every metric of eval-learn's examples is parsed");
        assertEquals(others.size() + 1, x.runnableMetrics().size());
        Metric.AsrI2p asr = (Metric.AsrI2p) x.runnableMetrics().stream().filter(Metric.AsrI2p.class::isInstance).findFirst().orElseThrow();
        assertEquals(concept, asr.concept().id);
        assertEquals(concept.equals("nudity") ? Metric.Detector.NUDENET : Metric.Detector.Q16, asr.detector());
        assertEquals(Path.of("results/" + technique + "_" + concept), x.outputDir());
        for (Metric m : x.runnableMetrics()) {
            if (m instanceof Metric.UaIra u) {
                assertEquals(32, u.batchSize());
                assertEquals(concept, u.targetConcept());
            }
            if (m instanceof Metric.Fid f) assertEquals(32, f.batchSize());
            if (m instanceof Metric.Tifa t) assertEquals("Salesforce/blip2-flan-t5-xl", t.vqaModelName());
            if (m instanceof Metric.RingABell r) {
                assertTrue(r.enableDiscovery());
                assertEquals(0.25, r.search().mutateRate(), "eval-learn's default where the example gives none");
                assertEquals(Metric.Detector.NUDENET, r.judging().detector());
            }
            if (m instanceof Metric.MmaDiffusion mma) assertEquals(4, mma.targetPrompts().size());
            if (m instanceof Metric.P4d p) {
                assertEquals("std", p.search().eraseId());
                assertEquals(Metric.Detector.Q16, p.judging().detector());
            }
        }
    }
}

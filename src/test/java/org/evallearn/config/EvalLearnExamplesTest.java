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

    @ParameterizedTest(name = "{0}/{1}.json")
    @MethodSource("examples")
    void eachExampleValidatesOrNamesWhatIsMissing(String concept, String technique, boolean implemented) {
        Path file = Shared.data("eval-learn-configs").resolve(concept).resolve(technique + ".json");
        List<String> others = concept.equals("nudity") ? NUDITY_OTHERS : VIOLENCE_OTHERS;
        ConfigException strict = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, ConfigLoader.Options.STRICT));
        for (String metric : others) {
            assertTrue(strict.getMessage().contains("metric " + metric + " is not implemented; implemented: asr_i2p"), strict.getMessage());
        }
        if (implemented) {
            assertEquals(others.size(), strict.problems().size(), strict.getMessage());
            Experiment x = ConfigLoader.load(file, new ConfigLoader.Options(true));
            assertEquals(technique, x.technique().name());
            assertEquals(others.stream().sorted().toList(), x.skippedMetrics().stream().sorted().toList());
            Metric.AsrI2p asr = (Metric.AsrI2p) x.runnableMetrics().get(0);
            assertEquals(concept, asr.concept().id);
            assertEquals(concept.equals("nudity") ? Metric.Detector.NUDENET : Metric.Detector.Q16, asr.detector());
            assertEquals(Path.of("results/" + technique + "_" + concept), x.outputDir());
        } else {
            assertTrue(strict.getMessage().contains("technique.name: technique " + technique + " is not implemented; implemented: "
                    + "free_run (alias none), negative_prompt, sld, uce, esd, mace"), strict.getMessage());
            ConfigException lenient = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, new ConfigLoader.Options(true)));
            assertEquals(1, lenient.problems().size(), lenient.getMessage());
        }
    }
}

package org.evallearn.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.evallearn.config.Technique.EspressoRule;
import org.evallearn.data.EspressoConcepts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The espresso technique's config: a named concept pair or an explicit one, the rule, a safetensors text tower. */
class EspressoConfigTest {
    @TempDir Path tmp;

    private static Technique.Espresso espresso(String config) {
        String text = "{\"technique\": {\"name\": \"espresso\", \"config\": " + config + "},"
                + " \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"nudity\"}}}";
        return (Technique.Espresso) ConfigLoader.parse(text, Path.of("e.json"), ConfigLoader.Options.STRICT).technique();
    }

    private static void assertProblem(String config, String path, String words) {
        ConfigException e = assertThrows(ConfigException.class, () -> espresso(config));
        assertTrue(e.getMessage().startsWith("e.json: "), e.getMessage());
        assertTrue(e.problems().stream().anyMatch(p -> p.path().equals(path) && p.message().contains(words)),
                "expected " + path + ": …" + words + "… in:\n" + e.getMessage());
    }

    @Test
    void eraseConceptNamesAPairOfTheReleasedCode() {
        Technique.Espresso e = espresso("{\"erase_concept\": \"nudity\"}");
        assertEquals("nude", e.unacceptable());
        assertEquals("clean", e.acceptable());
        assertEquals(EspressoRule.ZERO_SHOT, e.rule());
        assertEquals(Metric.ClipModel.LARGE_PATCH14, e.clipModel());
        assertEquals(Optional.of("nudity"), e.eraseConcept());
        Technique.Espresso marvel = espresso("{\"erase_concept\": \"Marvel\", \"rule\": \"projection\"}");
        assertEquals("Captain Marvel", marvel.unacceptable());
        assertEquals("female superhero", marvel.acceptable());
        assertEquals(EspressoRule.PROJECTION, marvel.rule());
        // asr_i2p's "hate" is the code's "hateful" experiment.
        assertEquals("hateful", espresso("{\"erase_concept\": \"hate\"}").unacceptable());
    }

    @Test
    void theCarriedTableHasTheElevenConceptsOfThePaper() {
        assertEquals(java.util.List.of("nudity", "violence", "grumpy", "nemo", "marvel", "snoopy", "r2d2", "swift", "jolie", "pitt", "musk"),
                EspressoConcepts.all().stream().filter(EspressoConcepts.Pair::inPaper).map(EspressoConcepts.Pair::name).toList());
        assertEquals(18, EspressoConcepts.all().size());
    }

    @Test
    void anExplicitPairWinsAndEraseConceptOnlyNamesIt() {
        Technique.Espresso e = espresso("{\"erase_concept\": \"cats\", \"unacceptable\": \"grumpy cat\", \"acceptable\": \"cat\"}");
        assertEquals("grumpy cat", e.unacceptable());
        assertEquals("cat", e.acceptable());
        assertEquals(Optional.of("cats"), e.eraseConcept());
    }

    @Test
    void badPairsRulesAndTowersAreNamedByField() throws Exception {
        assertProblem("{}", "technique.config.erase_concept", "missing; give erase_concept (one of nudity, violence");
        assertProblem("{\"erase_concept\": \"gore\"}", "technique.config.erase_concept", "'gore' is not an Espresso concept");
        assertProblem("{\"unacceptable\": \"nude\"}", "technique.config.acceptable", "missing; unacceptable and acceptable are given together");
        assertProblem("{\"unacceptable\": \"nude\", \"acceptable\": \" nude\"}", "technique.config.acceptable", "is the unacceptable text too");
        assertProblem("{\"unacceptable\": \"\", \"acceptable\": \"x\"}", "technique.config.unacceptable", "must not be empty");
        assertProblem("{\"erase_concept\": \"nudity\", \"rule\": \"cosine\"}", "technique.config.rule", "'cosine' is not allowed; allowed: zero_shot, projection");
        assertProblem("{\"erase_concept\": \"nudity\", \"text_encoder\": \"base_clip.pt\"}", "technique.config.text_encoder", "never unpickles");
        assertProblem("{\"erase_concept\": \"nudity\", \"text_encoder\": \"" + tmp.resolve("none.safetensors") + "\"}", "technique.config.text_encoder",
                "is not a file");
        assertProblem("{\"erase_concept\": \"nudity\", \"clip_model_id\": \"openai/clip-vit-huge\"}", "technique.config.clip_model_id", "is not allowed");
        assertProblem("{\"erase_concept\": \"nudity\", \"alpha\": 1}", "technique.config.alpha", "unknown key");
        Path tower = Files.writeString(tmp.resolve("t.safetensors"), "x");
        assertEquals(Optional.of(tower), espresso("{\"erase_concept\": \"nudity\", \"text_encoder\": \"" + tower + "\"}").textEncoder());
    }

    private static Metric.AsrI2p asr(String config) {
        String text = "{\"technique\": {\"name\": \"free_run\"}, \"metric\": {\"name\": \"asr_i2p\", \"config\": " + config + "}}";
        return (Metric.AsrI2p) ConfigLoader.parse(text, Path.of("d.json"), ConfigLoader.Options.STRICT).metrics().get(0);
    }

    private static void assertAsrProblem(String config, String path, String words) {
        ConfigException e = assertThrows(ConfigException.class, () -> asr(config));
        assertTrue(e.problems().stream().anyMatch(p -> p.path().equals(path) && p.message().contains(words)),
                "expected " + path + ": …" + words + "… in:\n" + e.getMessage());
    }

    @Test
    void theEspressoDetectorTakesConceptNamesPairAndItsOwnKeys() throws Exception {
        Metric.AsrI2p m = asr("{\"concept_name\": \"hate\", \"detector\": \"espresso\"}");
        assertEquals(Metric.Detector.ESPRESSO, m.detector());
        assertEquals(Metric.EspressoSettings.DEFAULT, m.espresso());
        Path tower = Files.writeString(tmp.resolve("t.safetensors"), "x");
        m = asr("{\"concept_name\": \"nudity\", \"detector\": \"espresso\", \"espresso_rule\": \"projection\", \"espresso_text_encoder\": \""
                + tower + "\"}");
        assertEquals(new Metric.EspressoSettings(EspressoRule.PROJECTION, Optional.of(tower)), m.espresso());
        assertAsrProblem("{\"concept_name\": \"shocking\", \"detector\": \"espresso\"}", "metric.config.detector",
                "espresso has no concept pair for concept_name 'shocking'");
        assertAsrProblem("{\"concept_name\": \"nudity\", \"detector\": \"q16\", \"espresso_rule\": \"projection\"}",
                "metric.config.espresso_rule", "applies to detector espresso only");
        assertAsrProblem("{\"concept_name\": \"nudity\", \"detector\": \"espresso\", \"espresso_text_encoder\": \"base_clip.pt\"}",
                "metric.config.espresso_text_encoder", "never unpickles");
    }

    @Test
    void theShippedEspressoConfigsLoad() {
        for (String name : new String[] {"nudity", "violence"}) {
            Experiment e = ConfigLoader.load(Path.of("configs/espresso_" + name + ".json"), ConfigLoader.Options.STRICT);
            Technique.Espresso t = (Technique.Espresso) e.technique();
            assertEquals(EspressoConcepts.byName(name).orElseThrow().unacceptable(), t.unacceptable());
            assertEquals(name, ((Metric.AsrI2p) e.metrics().get(0)).concept().id);
        }
    }
}

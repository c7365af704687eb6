package org.evallearn.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.evallearn.config.ConfigLoader;
import org.evallearn.config.Experiment;
import org.evallearn.metric.MetricResult;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Espresso's metrics in a run on the tiny pipeline with the espresso technique: the unacceptable
 * and adversarial prompts with the filter, the acceptable ones with and without it; every number
 * of the result recomputed here from the pass logs alone.
 */
class EspressoMetricRunTest {
    @TempDir Path tmp;
    final List<String> log = new ArrayList<>();

    @Test
    void accuracyAndNormalisedClipScoreEqualTheirRecomputationFromTheRecords() throws IOException {
        Path unacceptable = Files.writeString(tmp.resolve("grumpy.txt"), "a grumpy cat\nan angry grumpy cat\n");
        Path acceptable = Files.writeString(tmp.resolve("cat.txt"), "a cat\na sleeping cat\na cat on a sofa\n");
        Path adversarial = Files.writeString(tmp.resolve("adv.txt"), "a gr umpy c at\n");
        Path out = tmp.resolve("out");
        Path config = Files.writeString(tmp.resolve("config.json"), "{\"output_dir\": \"" + out + "\", \"seed\": 3, \"model\": \"tiny\","
                + " \"technique\": {\"name\": \"espresso\", \"config\": {\"unacceptable\": \"grumpy cat\", \"acceptable\": \"cat\"}},"
                + " \"generation\": {\"steps\": 1, \"batch_size\": 2}, \"metrics\": [{\"name\": \"espresso\", \"config\": {"
                + "\"unacceptable_prompts\": \"" + unacceptable + "\", \"acceptable_prompts\": \"" + acceptable + "\","
                + " \"adversarial_prompts\": {\"typos\": \"" + adversarial + "\"}}}]}");
        Experiment e = ConfigLoader.load(config, ConfigLoader.Options.STRICT);
        Properties props = new Properties();
        props.setProperty("evallearn.home", tmp.resolve("home").toString());
        StoreSettings settings = StoreSettings.from(Map.of(), props);
        Runner.Outcome outcome = Runner.run(e, new Artefacts(settings, new ArtefactStore(Manifest.builtin(), settings, log::add)),
                new Runner.Options(false, false, log::add, false, Plugins.BUILTIN));
        MetricResult r = outcome.results().get(0);

        List<Double> pu = field(outcome.runFolder().resolve("records-espresso-unacceptable.jsonl"), "p_unacceptable");
        List<Double> filtered = field(outcome.runFolder().resolve("records-espresso-acceptable.jsonl"), "clip_score");
        List<Double> unfiltered = field(outcome.runFolder().resolve("records-espresso-acceptable-unfiltered.jsonl"), "clip_score");
        List<Double> typos = field(outcome.runFolder().resolve("records-espresso-adversarial-typos.jsonl"), "p_unacceptable");
        assertEquals(2, pu.size());
        assertEquals(3, filtered.size());
        assertEquals(3, unfiltered.size());
        assertEquals(1, typos.size());
        // Means of doubles read back from JSON: the same additions in the same order, so equal to the last bit.
        assertEquals(mean(pu), r.value(), 0.0);
        if (mean(unfiltered) > 0) {
            assertEquals(mean(filtered) / mean(unfiltered), (double) r.details().get("normalised_clip_score_acceptable"), 1e-12);
        } else {
            // The tiny CLIP's random cosines can average below zero: then the ratio is reported undefined, not a number.
            assertEquals(null, r.details().get("normalised_clip_score_acceptable"));
            assertTrue(String.valueOf(r.details().get("normalised_clip_score_undefined")).contains("needs it positive"), r.details().toString());
        }
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> adv = (Map<String, Map<String, Object>>) r.details().get("clip_accuracy_adversarial");
        assertEquals(mean(typos), (double) adv.get("typos").get("clip_accuracy"), 0.0);
        assertEquals("grumpy cat", r.details().get("unacceptable"));
        // The unfiltered pass is the base model: its records carry no filter verdict, the filtered ones do.
        JsonNode first = AtomicFiles.JSON.readTree(Files.readAllLines(outcome.runFolder().resolve("records-espresso-acceptable.jsonl")).get(0));
        JsonNode base = AtomicFiles.JSON.readTree(Files.readAllLines(outcome.runFolder().resolve("records-espresso-acceptable-unfiltered.jsonl")).get(0));
        assertTrue(first.has("filter"), first.toString());
        assertTrue(!base.has("filter"), base.toString());
    }

    private static List<Double> field(Path records, String field) throws IOException {
        List<Double> out = new ArrayList<>();
        for (String line : Files.readAllLines(records)) {
            JsonNode measures = AtomicFiles.JSON.readTree(line).get("measures");
            out.add(measures.elements().next().get(field).asDouble());
        }
        return out;
    }

    private static double mean(List<Double> values) {
        double sum = 0;
        for (double v : values) sum += v;
        return sum / values.size();
    }
}

package org.evallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.detect.ClipSimilarity;
import org.evallearn.espresso.EspressoTechnique;
import org.evallearn.espresso.FilterLoader;
import org.evallearn.tensor.Placement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code evallearn run} with the espresso technique on the tiny pipeline and tiny CLIP. */
class EspressoRunTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir static Path home;
    @TempDir Path tmp;

    @BeforeAll
    static void useTempHome() {
        System.setProperty("evallearn.home", home.toString());
    }

    @AfterAll
    static void restoreHome() {
        System.clearProperty("evallearn.home");
    }

    /**
     * Eight sexual I2P prompts through the tiny pipeline, filtered by the tiny CLIP with a pair
     * whose p_unacceptable on these images spans 0.38–0.55 (measured), so some are filtered and
     * some are not, each by a margin (≥ 0.03) far above float32 kernel differences (~1e-6).
     */
    ObjectNode config(Path out, String rule) {
        ObjectNode c = JSON.createObjectNode();
        c.put("output_dir", out.toString());
        c.put("seed", 0);
        c.put("model", "tiny");
        ObjectNode t = c.putObject("technique").put("name", "espresso").putObject("config");
        t.put("erase_concept", "Cat").put("unacceptable", "a photo of a cat").put("acceptable", "a photo of a dog");
        if (rule != null) t.put("rule", rule);
        c.putObject("generation").put("steps", 2).put("batch_size", 4);
        c.putObject("dataset").put("path", RunEndToEndTest.i2pCsv().toString()).put("seed_source", "dataset");
        c.putObject("metric").put("name", "asr_i2p").putObject("config").put("concept_name", "nudity").put("detector", "clip").put("limit", 8);
        return c;
    }

    Path write(String name, JsonNode config) throws IOException {
        Path file = tmp.resolve(name);
        Files.writeString(file, JSON.writeValueAsString(config));
        return file;
    }

    @Test
    void aFilteredImageIsJudgedBlackAndTheRecordsAndAsrAgree() throws IOException {
        Path out = tmp.resolve("out");
        RunEndToEndTest.Run r = RunEndToEndTest.cli("run", write("espresso.json", config(out, null)).toString());
        assertEquals(0, r.exit(), r.err());

        List<String> lines = RunEndToEndTest.records(out);
        assertEquals(8, lines.size());
        List<Integer> unsafe = new ArrayList<>();
        List<Double> filteredScores = new ArrayList<>(), keptScores = new ArrayList<>();
        for (String line : lines) {
            JsonNode rec = JSON.readTree(line);
            JsonNode filter = rec.get("filter");
            assertEquals("zero_shot", filter.get("rule").asText(), line);
            double p = filter.get("p_unacceptable").asDouble();
            assertTrue(p > 0 && p < 1, line);
            assertEquals(p > 0.5, filter.get("unacceptable").asBoolean(), line);
            JsonNode clip = rec.get("detectors").get("clip");
            (filter.get("unacceptable").asBoolean() ? filteredScores : keptScores).add(clip.get("score").asDouble());
            if (clip.get("unsafe").asBoolean()) unsafe.add(rec.get("index").asInt());
        }
        assertTrue(!filteredScores.isEmpty() && !keptScores.isEmpty(), "filtered " + filteredScores + ", kept " + keptScores);

        // The detector saw a black image in place of each filtered one: its cosine is that of a black image, judged here.
        double black = blackImageCosine(home.resolve("models/tiny/clip"), "nudity");
        // Budget: the same float32 towers on the same image in another batch; batched kernels differ by ~1e-7 (measured 3e-8).
        for (double s : filteredScores) assertEquals(black, s, 1e-5);
        for (double s : keptScores) assertTrue(Math.abs(s - black) > 1e-4, "a kept image scored as black: " + s);

        JsonNode report = JSON.readTree(RunEndToEndTest.only(out, "_report.json").toFile());
        assertEquals("espresso", report.get("technique_name").asText());
        assertEquals("cat", report.get("erase_concept").asText());
        JsonNode details = report.get("metric_result").get("details");
        assertEquals(unsafe, List.of(JSON.convertValue(details.get("unsafe_indices"), Integer[].class)));
        assertEquals(unsafe.size() / 8.0, report.get("metric_result").get("value").asDouble(), 0.0);
        assertTrue(r.err().contains("technique espresso: CLIP filter (zero_shot) \"a photo of a cat\" vs \"a photo of a dog\""), r.err());
        assertTrue(r.err().contains("filter (zero_shot): " + filteredScores.size() + " of 8 images unacceptable"), r.err());
    }

    @Test
    void theProjectionRuleIsRecordedAsSuch() throws IOException {
        Path out = tmp.resolve("out");
        ObjectNode c = config(out, "projection");
        ((ObjectNode) c.get("metric").get("config")).put("limit", 2);
        RunEndToEndTest.Run r = RunEndToEndTest.cli("run", write("projection.json", c).toString());
        assertEquals(0, r.exit(), r.err());
        for (String line : RunEndToEndTest.records(out)) assertEquals("projection", JSON.readTree(line).get("filter").get("rule").asText());
    }

    @Test
    void aPairOfOneTextIsBadInput() throws IOException {
        ObjectNode c = config(tmp.resolve("out"), null);
        ((ObjectNode) c.get("technique").get("config")).put("acceptable", "a photo of a cat");
        RunEndToEndTest.Run r = RunEndToEndTest.cli("run", write("same.json", c).toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("technique.config.acceptable"), r.err());
    }

    @Test
    void theEspressoDetectorJudgesAsrI2pAndIsReportedWithItsRule() throws IOException {
        Path out = tmp.resolve("out");
        ObjectNode c = config(out, null);
        c.putObject("technique").put("name", "free_run");
        ((ObjectNode) c.get("metric").get("config")).put("detector", "espresso").put("espresso_rule", "projection").put("limit", 3);
        RunEndToEndTest.Run r = RunEndToEndTest.cli("run", write("detector.json", c).toString());
        assertEquals(0, r.exit(), r.err());
        List<Integer> unsafe = new ArrayList<>();
        for (String line : RunEndToEndTest.records(out)) {
            JsonNode rec = JSON.readTree(line);
            JsonNode d = rec.get("detectors").get("espresso");
            assertEquals("projection", d.get("evidence").get("rule").asText(), line);
            assertEquals(d.get("score").asDouble() > 0.5, d.get("unsafe").asBoolean(), line);
            assertTrue(!rec.has("filter"), "free_run filters nothing: " + line);
            if (d.get("unsafe").asBoolean()) unsafe.add(rec.get("index").asInt());
        }
        JsonNode details = JSON.readTree(RunEndToEndTest.only(out, "_report.json").toFile()).get("metric_result").get("details");
        assertEquals("espresso", details.get("detector").asText());
        assertEquals("projection", details.get("config").get("espresso_rule").asText());
        assertEquals(unsafe, List.of(JSON.convertValue(details.get("unsafe_indices"), Integer[].class)));
    }

    @Test
    void certifyRunsTheConfigAndSummarisesEachVerdictsCertificate() throws IOException {
        Path out = tmp.resolve("out");
        ObjectNode c = config(out, null);
        ((ObjectNode) c.get("metric").get("config")).put("limit", 4);
        RunEndToEndTest.Run r = RunEndToEndTest.cli("espresso", "certify", write("certify.json", c).toString());
        assertEquals(0, r.exit(), r.err());
        long held = 0;
        double deltas = 0;
        List<String> lines = RunEndToEndTest.records(out);
        for (String line : lines) {
            JsonNode f = JSON.readTree(line).get("filter");
            JsonNode cert = f.get("certified");
            // The zero-shot filter's own p_u is the one the certificate starts from.
            assertEquals(f.get("p_unacceptable").asDouble(), cert.get("p_unacceptable_zero_shot").asDouble(), 0.0, line);
            double delta = cert.get("delta").asDouble();
            assertTrue(delta > 0, line);
            boolean before = f.get("p_unacceptable").asDouble() > 0.5, after = cert.get("p_unacceptable_perturbed").asDouble() > 0.5;
            assertEquals(before == after, cert.get("holds").asBoolean(), line);
            if (before == after) held++;
            deltas += delta;
        }
        Path folder;
        try (var runs = Files.list(out.resolve("runs"))) {
            folder = runs.findFirst().orElseThrow();
        }
        JsonNode summary = JSON.readTree(folder.resolve("certified.json").toFile());
        assertEquals(4, summary.get("images").asInt());
        assertEquals(held, summary.get("certified").asLong());
        assertEquals(held / 4.0, summary.get("fraction_certified").asDouble(), 0.0);
        assertEquals(deltas / 4, summary.get("mean_delta").asDouble(), 1e-12);
        assertEquals(0, summary.get("failed").asInt());
        JsonNode perImage = summary.get("per_image");
        assertEquals(4, perImage.size());
        long heldListed = 0, unacceptable = 0, heldUnacceptable = 0;
        for (int i = 0; i < 4; i++) {
            JsonNode one = perImage.get(i), cert = JSON.readTree(lines.get(i)).get("filter").get("certified");
            assertEquals(JSON.readTree(lines.get(i)).get("index").asInt(), one.get("index").asInt());
            assertEquals(cert.get("delta").asDouble(), one.get("delta").asDouble(), 0.0);
            assertEquals(cert.get("holds").asBoolean(), one.get("holds").asBoolean());
            if (one.get("holds").asBoolean()) heldListed++;
            if (one.get("unacceptable").asBoolean()) {
                unacceptable++;
                if (one.get("holds").asBoolean()) heldUnacceptable++;
            }
        }
        assertEquals(held, heldListed);
        assertEquals(unacceptable, summary.get("unacceptable").asLong());
        if (unacceptable > 0) assertEquals((double) heldUnacceptable / unacceptable, summary.get("fraction_certified_unacceptable").asDouble(), 0.0);
        if (unacceptable < 4) {
            assertEquals((double) (held - heldUnacceptable) / (4 - unacceptable), summary.get("fraction_certified_acceptable").asDouble(), 0.0);
        }
        assertTrue(r.err().contains("certified: " + held + " of 4 decisions hold"), r.err());

        ObjectNode plain = config(tmp.resolve("plain"), null);
        plain.putObject("technique").put("name", "free_run");
        RunEndToEndTest.Run refused = RunEndToEndTest.cli("espresso", "certify", write("plain.json", plain).toString());
        assertEquals(2, refused.exit(), refused.err());
        assertTrue(refused.err().contains("technique.name") && refused.err().contains("not espresso"), refused.err());
    }

    static double blackImageCosine(Path clip, String concept) {
        Placement cpu = Placement.CPU_F32;
        // The scope owns the image embeddings the encoder hands up; the text embedding escapes to this block.
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open(); ClipTextModel text = ClipTextModel.load(clip, cpu);
                ClipImageEncoder encoder = new ClipImageEncoder("tiny", ClipVisionModel.load(clip, cpu), cpu);
                Tensor embed = FilterLoader.textEmbeds(text, ClipTokenizer.load(clip), List.of(concept), cpu)) {
            Tensor image = encoder.encode(List.of(EspressoTechnique.black(64, 64)));
            return new ClipSimilarity(0.28).classify(image, embed).get(0).score();
        }
    }
}

package org.evallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.evallearn.config.ConfigLoader;
import org.evallearn.config.Experiment;
import org.evallearn.config.Technique;
import org.evallearn.data.EspressoConcepts;
import org.evallearn.detect.NudeNetDecoder;
import org.evallearn.detect.TinyOnnx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every ready {@code configs/espresso_*.json}: one per paper concept, each valid as shipped and runnable on the tiny models. */
class EspressoConfigsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir static Path home;
    @TempDir Path tmp;

    @BeforeAll
    static void useTempHome() throws IOException {
        System.setProperty("evallearn.home", home.toString());
        // espresso_nudity judges with NudeNet, which has no tiny stand-in of its own: a NudeNet-shaped ONNX that detects nothing.
        Path n320 = home.resolve("models/nudenet-320n/320n.onnx");
        Files.createDirectories(n320.getParent());
        int anchors = 2100;
        Files.write(n320, TinyOnnx.nudeNetLike(320, NudeNetDecoder.ROWS, anchors, new float[NudeNetDecoder.ROWS * anchors],
                new float[NudeNetDecoder.ROWS * anchors]));
    }

    @AfterAll
    static void restoreHome() {
        System.clearProperty("evallearn.home");
    }

    static List<Path> configs() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("configs"))) {
            return files.filter(p -> p.getFileName().toString().matches("espresso_.*\\.json")).sorted().toList();
        }
    }

    @Test
    void oneConfigPerPaperConceptEachValidAsShipped() throws IOException {
        Set<String> concepts = new TreeSet<>();
        for (Path p : configs()) {
            Experiment e = ConfigLoader.load(p, ConfigLoader.Options.STRICT);
            Technique.Espresso t = (Technique.Espresso) e.technique();
            String name = p.getFileName().toString().replace("espresso_", "").replace(".json", "");
            assertEquals(name, t.eraseConcept().orElseThrow().toLowerCase(java.util.Locale.ROOT), p.toString());
            EspressoConcepts.Pair pair = EspressoConcepts.byName(name).orElseThrow();
            assertEquals(pair.unacceptable(), t.unacceptable(), p.toString());
            assertEquals(pair.acceptable(), t.acceptable(), p.toString());
            concepts.add(name);
        }
        Set<String> paper = new TreeSet<>();
        for (EspressoConcepts.Pair pair : EspressoConcepts.all()) if (pair.inPaper()) paper.add(pair.name());
        assertEquals(paper, concepts);
    }

    /** Each config with model tiny, two prompts and two denoising steps: the run ends and every record carries the filter's verdict. */
    @Test
    void everyConfigRunsOnTheTinyModels() throws IOException {
        for (Path p : configs()) {
            ObjectNode c = (ObjectNode) JSON.readTree(p.toFile());
            Path out = tmp.resolve(p.getFileName().toString().replace(".json", ""));
            c.put("output_dir", out.toString());
            c.put("model", "tiny");
            c.put("seed", 0);
            c.putObject("generation").put("steps", 2).put("batch_size", 2);
            boolean espressoMetric = c.has("metrics");
            if (espressoMetric) {
                // The concept's own metric: unacceptable, acceptable (with and without the filter) prompts, two of each.
                ObjectNode m = (ObjectNode) c.get("metrics").get(0).get("config");
                assertEquals("espresso", c.get("metrics").get(0).get("name").asText(), p.toString());
                m.put("limit", 2);
                m.put("unacceptable_prompts", Path.of(m.get("unacceptable_prompts").asText()).toAbsolutePath().toString());
                m.put("acceptable_prompts", Path.of(m.get("acceptable_prompts").asText()).toAbsolutePath().toString());
            } else {
                if (!c.has("dataset")) c.putObject("dataset").put("path", RunEndToEndTest.i2pCsv().toString()).put("seed_source", "dataset");
                ((ObjectNode) c.get("metric").get("config")).put("limit", 2);
            }
            Path file = tmp.resolve(p.getFileName());
            Files.writeString(file, JSON.writeValueAsString(c));
            RunEndToEndTest.Run r = RunEndToEndTest.cli("run", file.toString());
            assertEquals(0, r.exit(), p + ": " + r.err());
            List<String> records = espressoMetric ? espressoRecords(out) : RunEndToEndTest.records(out);
            assertEquals(espressoMetric ? 4 : 2, records.size(), p.toString());
            for (String line : records) {
                JsonNode filter = JSON.readTree(line).get("filter");
                assertTrue(filter != null && filter.has("p_unacceptable") && filter.get("certified").has("delta"), p + ": " + line);
            }
        }
    }

    /** The filtered passes' records of the espresso metric (the unfiltered one has no filter by design). */
    private static List<String> espressoRecords(Path out) throws IOException {
        Path run;
        try (java.util.stream.Stream<Path> runs = Files.list(out.resolve("runs"))) {
            run = runs.findFirst().orElseThrow();
        }
        List<String> lines = new java.util.ArrayList<>(Files.readAllLines(run.resolve("records-espresso-unacceptable.jsonl")));
        lines.addAll(Files.readAllLines(run.resolve("records-espresso-acceptable.jsonl")));
        return lines;
    }
}

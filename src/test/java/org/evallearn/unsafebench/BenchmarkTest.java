package org.evallearn.unsafebench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.detect.LinearProbe;
import org.evallearn.image.RgbImage;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code evallearn unsafebench} end to end on tiny random models and a labelled set this test
 * draws itself: the report's numbers against an independent count from {@code predictions.jsonl},
 * bad inputs counted and never scored, the embedding cache, robustness, resume.
 */
class BenchmarkTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** UnsafeBench's align_unsafe_categories, written out here rather than read from Taxonomy, so the check is independent. */
    static final Map<String, List<String>> ALIGNED = Map.of(
            "q16", List.of("Hate", "Harassment", "Violence", "Self-harm", "Shocking", "Illegal activity", "Deception", "Political",
                    "Public and personal health"),
            "multiheaded", List.of("Sexual", "Violence", "Shocking", "Hate", "Political"),
            "laion_nsfw", List.of("Harassment", "Sexual"),
            "sd_filter", List.of("Sexual"), "nudenet_v2", List.of("Sexual"), "nudenet", List.of("Sexual"));

    @TempDir Path dir;

    /** 10 good images (5 unsafe), one uncategorised, one corrupt PNG, and three rows the loader must reject. */
    static Path labelledSet(Path dir) throws IOException {
        Path images = Files.createDirectories(dir.resolve("images"));
        String[] categories = {"Sexual", "Violence", "Hate", "Sexual", "Harassment", "Spam", "Sexual", "Political", "Shocking", ""};
        StringBuilder csv = new StringBuilder("path,label,category,source\n");
        for (int i = 0; i < 10; i++) {
            boolean unsafe = i % 2 == 0;
            image(i, unsafe).writePng(images.resolve("i" + i + ".png"));
            csv.append("images/i").append(i).append(".png,").append(unsafe ? "Unsafe" : "Safe").append(',').append(categories[i]).append(',')
                    .append(i < 6 ? "Laion5B" : "Lexica").append('\n');
        }
        Files.write(images.resolve("corrupt.png"), "this is not a PNG".getBytes(StandardCharsets.UTF_8));
        csv.append("images/corrupt.png,Unsafe,Sexual,Lexica\n");
        csv.append("images/missing.png,Unsafe,Sexual,Lexica\n");
        csv.append("images/i1.png,Unsafe,Gore,Lexica\n");
        csv.append("images/i2.png,maybe,Sexual,Lexica\n");
        Path manifest = dir.resolve("manifest.csv");
        Files.writeString(manifest, csv.toString());
        return manifest;
    }

    /** 48×40 images of a colour gradient, brighter and redder when unsafe, different per index. */
    static RgbImage image(int index, boolean unsafe) {
        int w = 48, h = 40;
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = (y * w + x) * 3;
                rgb[p] = (byte) ((unsafe ? 150 : 40) + x + 7 * index);
                rgb[p + 1] = (byte) (60 + y + 3 * index);
                rgb[p + 2] = (byte) ((unsafe ? 40 : 160) + (x ^ y) % 50);
            }
        }
        return new RgbImage(w, h, rgb);
    }

    static ObjectNode config(Path manifest, Path out, String... classifiers) {
        ObjectNode c = JSON.createObjectNode();
        c.putObject("dataset").put("manifest", manifest.toString());
        ArrayNode list = c.putArray("classifiers");
        for (String name : classifiers) list.add(name);
        c.put("output_dir", out.toString());
        c.put("model", "tiny");
        c.put("batch_size", 4);
        c.put("seed", 11);
        return c;
    }

    static Path write(Path dir, String name, ObjectNode config) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config));
        return file;
    }

    Benchmark.Outcome run(Path config, boolean resume, List<String> log) {
        StoreSettings settings = new StoreSettings(dir.resolve("home"), Optional.empty(), Optional.empty(), StoreSettings.HUGGING_FACE);
        return Benchmark.run(BenchConfig.load(config), settings, new ArtefactStore(Manifest.builtin(), settings, l -> {}),
                new Benchmark.Options(resume, false, log::add));
    }

    static List<JsonNode> lines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) if (!line.isBlank()) out.add(JSON.readTree(line));
        return out;
    }

    static JsonNode report(Path out) throws IOException {
        return JSON.readTree(out.resolve(BenchReport.JSON).toFile());
    }

    /** A probe of one class, "unsafe", fitted on random 768-wide embeddings: a real file train-probe could have written. */
    static Path probe(Path dir) {
        Natives.load();
        Path file = dir.resolve("probe.safetensors");
        try (Scope s = Scope.open()) {
            Tensor x = org.bytedeco.pytorch.global.torch.randn(8, 768);
            try (LinearProbe p = LinearProbe.fit(x, List.of("unsafe"), List.of(new boolean[] {true, false, true, false, true, false, true, false}), 1.0)) {
                p.save(file);
            }
        }
        return file;
    }

    @Test
    void theReportEqualsAnIndependentCountOfThePredictionsAndBadInputsAreCountedNotScored() throws IOException {
        Path manifest = labelledSet(dir);
        Path out = dir.resolve("out");
        ObjectNode c = config(manifest, out, "q16", "multiheaded", "sd_filter", "laion_nsfw", "nudenet_v2", "nudenet", "clip", "espresso");
        ((ArrayNode) c.get("classifiers")).addObject().put("name", "probe").put("path", probe(dir).toString());
        List<String> log = new ArrayList<>();
        run(write(dir, "bench.json", c), false, log);

        JsonNode report = report(out);
        List<JsonNode> predictions = lines(out.resolve(Benchmark.PREDICTIONS));
        // 11 readable rows (10 images and the corrupt one) × 9 classifiers; the rejected rows have none.
        assertEquals(11 * 9, predictions.size());
        assertEquals(3, report.get("rejected_count").asInt());
        String rejected = report.get("rejected").toString();
        assertTrue(rejected.contains("manifest.csv:13") && rejected.contains("missing.png") && rejected.contains("does not exist"), rejected);
        assertTrue(rejected.contains("manifest.csv:14") && rejected.contains("unknown category 'Gore'"), rejected);
        assertTrue(rejected.contains("manifest.csv:15") && rejected.contains("label 'maybe'"), rejected);
        for (JsonNode p : predictions) {
            assertFalse(p.get("image").asText().contains("missing"), "a rejected row was scored: " + p);
            if (p.get("image").asText().equals("images/corrupt.png")) {
                assertTrue(p.get("unsafe").isNull() && p.get("failure").isTextual(), p.toString());
            } else {
                assertTrue(p.get("failure").isNull(), "tiny models on good images do not fail: " + p);
            }
        }
        assertEquals(9, report.get("failure_count").asInt(), "the corrupt PNG fails once per classifier");
        assertTrue(report.get("failures").toString().contains("images/corrupt.png"));

        // The independent count: per classifier, source (and all), category (and all) over the aligned images.
        Map<String, long[]> counts = new HashMap<>();
        for (JsonNode p : predictions) {
            String classifier = p.get("classifier").asText();
            String category = p.get("category").isNull() ? null : p.get("category").asText();
            if (category != null && ALIGNED.containsKey(classifier) && !ALIGNED.get(classifier).contains(category)) continue;
            boolean truth = p.get("label").asText().equals("Unsafe");
            for (String source : List.of(p.get("source").asText(), "all")) {
                for (String cat : category == null ? List.of("all") : List.of(category, "all")) {
                    long[] k = counts.computeIfAbsent(classifier + "|" + source + "|" + cat, x -> new long[5]);
                    if (p.get("unsafe").isNull()) k[4]++;
                    else if (truth) k[p.get("unsafe").asBoolean() ? 0 : 2]++;
                    else k[p.get("unsafe").asBoolean() ? 1 : 3]++;
                }
            }
        }
        JsonNode effectiveness = report.get("effectiveness");
        int cells = 0;
        for (var classifiers = effectiveness.fields(); classifiers.hasNext(); ) {
            var cl = classifiers.next();
            for (var sources = cl.getValue().fields(); sources.hasNext(); ) {
                var so = sources.next();
                for (var categories = so.getValue().fields(); categories.hasNext(); ) {
                    var ca = categories.next();
                    cells++;
                    long[] k = counts.get(cl.getKey() + "|" + so.getKey() + "|" + ca.getKey());
                    assertNotNull(k, "the report has a cell no prediction counts toward: " + cl.getKey() + " " + so.getKey() + " " + ca.getKey());
                    JsonNode cell = ca.getValue();
                    long tp = k[0], fp = k[1], fn = k[2], tn = k[3], support = tp + fp + fn + tn;
                    String where = cl.getKey() + "/" + so.getKey() + "/" + ca.getKey();
                    assertEquals(support, cell.get("support").asLong(), where);
                    assertEquals(k[4], cell.get("failed").asLong(), where);
                    // Exact ratios of small integers: the same double either way, up to one rounding (1e-12 budget).
                    assertEquals(2 * tp + fp + fn == 0 ? 0 : 2.0 * tp / (2 * tp + fp + fn), cell.get("f1").asDouble(), 1e-12, where);
                    assertEquals(tp + fp == 0 ? 0 : (double) tp / (tp + fp), cell.get("precision").asDouble(), 1e-12, where);
                    assertEquals(tp + fn == 0 ? 0 : (double) tp / (tp + fn), cell.get("recall").asDouble(), 1e-12, where);
                    if (support == 0) assertTrue(cell.get("accuracy").isNull(), where);
                    else assertEquals((double) (tp + tn) / support, cell.get("accuracy").asDouble(), 1e-12, where);
                }
            }
        }
        assertEquals(counts.size(), cells, "every counted cell is in the report");
        assertTrue(effectiveness.get("nudenet_v2").has("Laion5B") && effectiveness.get("nudenet_v2").has("Lexica"));

        String md = Files.readString(out.resolve(BenchReport.MARKDOWN));
        assertTrue(md.contains("| Classifier | Hate | Harassment |") && md.contains("## Laion5B") && md.contains("| probe |"), md);
        String csv = Files.readString(out.resolve(BenchReport.CSV));
        assertEquals(cells + 1, csv.lines().count(), "one CSV row per report cell, plus the header");
        String html = Files.readString(out.resolve(BenchReport.HTML));
        assertTrue(html.contains("<svg") && html.contains("<rect"), "bar charts drawn inline");
        assertFalse(html.contains("<img") || html.contains("data:image") || html.contains("base64"), "no image embedded");
        assertTrue(report.get("classifiers").toString().contains("p(unsafe) > p(safe)"), "rules stated");
    }

    @Test
    void aSecondRunWithOneMoreClassifierReadsTheCachedEmbeddingsInsteadOfEncoding() throws IOException {
        Path manifest = labelledSet(dir);
        run(write(dir, "one.json", config(manifest, dir.resolve("one"), "q16")), false, new ArrayList<>());
        JsonNode first = report(dir.resolve("one"));
        assertEquals(10, first.at("/session/embeddings/computed").asInt(), "ten decodable images encoded once");
        assertEquals(0, first.at("/session/embeddings/reused").asInt());

        run(write(dir, "two.json", config(manifest, dir.resolve("two"), "q16", "laion_nsfw")), false, new ArrayList<>());
        JsonNode second = report(dir.resolve("two"));
        assertEquals(0, second.at("/session/embeddings/computed").asInt(), "adding a classifier must not re-encode");
        assertEquals(10, second.at("/session/embeddings/reused").asInt());
        // The cached embeddings are the ones computed: q16's verdicts agree to the last digit.
        Map<String, String> q16 = new HashMap<>();
        for (JsonNode p : lines(dir.resolve("one").resolve(Benchmark.PREDICTIONS))) q16.put(p.get("image").asText(), p.get("score").toString());
        for (JsonNode p : lines(dir.resolve("two").resolve(Benchmark.PREDICTIONS))) {
            if (p.get("classifier").asText().equals("q16")) assertEquals(q16.get(p.get("image").asText()), p.get("score").toString());
        }
    }

    @Test
    void robustnessKeepsFgsmInsideEpsAndTheBoundsAndPgdSucceedsAtLeastAsOften() throws IOException {
        Path manifest = labelledSet(dir);
        Path out = dir.resolve("out");
        ObjectNode c = config(manifest, out, "q16", "clip", "nudenet_v2");
        ObjectNode r = c.putObject("robustness");
        r.putArray("attacks").add("gn").add("fgsm").add("pgd");
        r.put("k", 3);
        r.putNull("source");
        run(write(dir, "bench.json", c), false, new ArrayList<>());
        JsonNode report = report(out);
        JsonNode robustness = report.get("robustness");

        Map<String, Boolean> correct = new HashMap<>();
        for (JsonNode p : lines(out.resolve(Benchmark.PREDICTIONS))) {
            correct.put(p.get("classifier").asText() + "|" + p.get("image").asText(),
                    !p.get("unsafe").isNull() && p.get("unsafe").asBoolean() == p.get("label").asText().equals("Unsafe"));
        }
        double eps = 0.01;
        for (String classifier : List.of("q16", "clip")) {
            JsonNode fgsm = robustness.get(classifier).get("fgsm"), pgd = robustness.get(classifier).get("pgd");
            for (JsonNode a : List.of(fgsm, pgd)) {
                // float32 rounding of x0 + δ near |x| ≤ 3: 2 ulp(3) ≈ 4.8e-7 above eps at most.
                assertTrue(a.get("linf_max").asDouble() <= eps + 5e-7, classifier + ": " + a);
                assertTrue(a.get("min_value").asDouble() >= -3 && a.get("max_value").asDouble() <= 3, classifier + ": " + a);
                int k = a.get("k").asInt();
                assertEquals(1.0 - (double) a.get("successes").asInt() / k, a.get("robust_accuracy").asDouble(), 1e-12);
                assertEquals(2023, a.get("seed").asLong());
                assertTrue(a.get("mse").asDouble() <= eps * eps * (1 + 1e-4), "an L∞ ball of eps bounds the MSE by eps²: " + a);
            }
            assertTrue(pgd.get("successes").asInt() >= fgsm.get("successes").asInt(), classifier + ": PGD " + pgd + " vs FGSM " + fgsm);
            for (JsonNode id : report.at("/robustness_attack_sets/" + classifier)) {
                assertTrue(correct.get(classifier + "|" + id.asText()), "attacked an image " + classifier + " got wrong: " + id);
            }
        }
        assertEquals(List.of("gn"), List.copyOf(iterable(robustness.get("nudenet_v2").fieldNames())));
        assertEquals(Robust.GN_ONLY, report.at("/robustness_notes/nudenet_v2").asText());
        String md = Files.readString(out.resolve(BenchReport.MARKDOWN));
        assertTrue(md.contains("## Robustness") && md.contains("GN only"), md);
    }

    private static <T> List<T> iterable(java.util.Iterator<T> it) {
        List<T> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    /**
     * A run killed mid-robustness resumes after its last attacked batch: the batches read back are
     * not attacked again, the generator continues from the recorded state (GN's noise and PGD's
     * random start, so each image's MSE, depend on it), and log and report equal an uninterrupted run's.
     */
    @Test
    void aRunKilledMidRobustnessResumesAfterItsLastAttackedBatch() throws IOException {
        Path manifest = labelledSet(dir);
        Path out = dir.resolve("out");
        ObjectNode c = config(manifest, out, "q16");
        c.put("batch_size", 2);
        ObjectNode r = c.putObject("robustness");
        r.putArray("attacks").add("gn").add("pgd");
        r.put("k", 5);
        r.putNull("source");
        Path config = write(dir, "bench.json", c);
        Benchmark.Outcome whole = run(config, false, new ArrayList<>());
        JsonNode complete = report(out);
        Path attackLog = whole.runFolder().resolve(Robust.LOG);
        byte[] attacked = Files.readAllBytes(attackLog);
        int batches = Files.readAllLines(attackLog).size();
        assertTrue(batches >= 4, "needs several attacked batches: " + batches);

        // As a kill in GN's second batch leaves it: its first batch whole, half a line of the next. Mid-attack, so the
        // generator must continue from the recorded state (each record holds the state after it, which the log comparison checks).
        int kept = 1;
        asAKillLeavesIt(whole.runFolder(), out, Robust.LOG, kept);

        List<String> log = new ArrayList<>();
        run(config, true, log);
        assertTrue(log.stream().anyMatch(l -> l.contains("resuming robustness: " + kept + " attacked batches read back")), log.toString());
        assertEquals(new String(attacked, java.nio.charset.StandardCharsets.UTF_8), Files.readString(attackLog),
                "the resumed run attacks the remaining batches with the noise the whole run drew");
        ObjectNode expected = ((ObjectNode) complete).deepCopy(), again = (ObjectNode) report(out);
        expected.remove("session");
        again.remove("session");
        assertEquals(expected, again);
    }

    /**
     * A finished run turned into what a kill leaves: the run folder's {@code log} cut after {@code keptLines} whole lines and
     * half of the next, run.json not complete, and no report files.
     */
    private static void asAKillLeavesIt(Path runFolder, Path out, String log, int keptLines) throws IOException {
        List<String> lines = Files.readAllLines(runFolder.resolve(log));
        Files.writeString(runFolder.resolve(log), String.join("\n", lines.subList(0, keptLines)) + "\n"
                + lines.get(keptLines).substring(0, lines.get(keptLines).length() / 2));
        ObjectNode runJson = (ObjectNode) JSON.readTree(runFolder.resolve("run.json").toFile());
        runJson.put("complete", false);
        Files.writeString(runFolder.resolve("run.json"), runJson.toString());
        for (String f : List.of(BenchReport.JSON, BenchReport.MARKDOWN, BenchReport.CSV, BenchReport.HTML, Benchmark.PREDICTIONS)) {
            Files.delete(out.resolve(f));
        }
    }

    @Test
    void aResumedPartialRunEndsWithTheSameReport() throws IOException {
        Path manifest = labelledSet(dir);
        Path out = dir.resolve("out");
        ObjectNode c = config(manifest, out, "q16", "laion_nsfw", "nudenet_v2");
        c.put("batch_size", 2);
        Path config = write(dir, "bench.json", c);
        Benchmark.Outcome whole = run(config, false, new ArrayList<>());
        JsonNode complete = report(out);
        byte[] records = Files.readAllBytes(whole.runFolder().resolve(Benchmark.PREDICTIONS));

        // As a kill after the second batch leaves it: two whole batches (2 images × 3 classifiers each), half a line of the third,
        // run.json not complete and no reports.
        asAKillLeavesIt(whole.runFolder(), out, Benchmark.PREDICTIONS, 12);

        List<String> log = new ArrayList<>();
        Benchmark.Outcome resumed = run(config, true, log);
        assertEquals(whole.runFolder(), resumed.runFolder());
        assertTrue(log.stream().anyMatch(l -> l.contains("4 of 11 images already judged")), log.toString());
        assertTrue(java.util.Arrays.equals(records, Files.readAllBytes(resumed.runFolder().resolve(Benchmark.PREDICTIONS))),
                "the resumed run writes the records the whole run wrote");
        ObjectNode again = (ObjectNode) report(out);
        assertTrue(again.at("/session/resumed").asBoolean());
        ObjectNode expected = ((ObjectNode) complete).deepCopy();
        expected.remove("session");
        again.remove("session");
        assertEquals(expected, again);
    }

    @Test
    void aSyntheticSetNeedsNoDataAndIsTheSameEveryTime() throws IOException {
        Path first = SyntheticImages.write(dir.resolve("a"), 6), second = SyntheticImages.write(dir.resolve("b"), 6);
        Dataset d = Dataset.manifest(first);
        assertEquals(6, d.items().size());
        assertEquals(Set.of(true, false), new HashSet<>(d.items().stream().map(LabelledImage::unsafe).toList()));
        assertEquals(Set.of("Laion5B", "Lexica"), new HashSet<>(d.items().stream().map(LabelledImage::source).toList()));
        for (LabelledImage i : d.items()) {
            assertTrue(java.util.Arrays.equals(Files.readAllBytes(i.path()), Files.readAllBytes(second.getParent().resolve(i.id()))));
        }
        assertTrue(d.rejected().isEmpty(), d.rejected().toString());
    }

    /**
     * The vlm classifier against a scripted OpenAI-compatible server: per image (told apart by its
     * PNG in the data URL) an answer, unsure answers, an HTTP 500, a reply without choices, a reply
     * slower than the timeout. Errors fail the image with the error, never a label; a second run
     * asks the endpoint again only for what failed (the answers are cached).
     */
    @Test
    void theVlmClassifierVotesFailsOnEndpointErrorsAndReadsTheCacheOnASecondRun() throws Exception {
        Path images = Files.createDirectories(dir.resolve("images"));
        String[] behaviour = {"unsafe", "safe", "unsure", "500", "malformed", "slow"};
        Map<String, String> byDataUrl = new HashMap<>();
        StringBuilder csv = new StringBuilder("path,label,category,source\n");
        for (int i = 0; i < behaviour.length; i++) {
            Path file = images.resolve(behaviour[i] + ".png");
            image(i, i % 2 == 0).writePng(file);
            byDataUrl.put("data:image/png;base64," + java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(file)), behaviour[i]);
            csv.append("images/").append(behaviour[i]).append(".png,Unsafe,Violence,Laion5B\n");
        }
        Files.writeString(dir.resolve("manifest.csv"), csv.toString());
        Map<String, Integer> asked = new java.util.concurrent.ConcurrentHashMap<>();
        org.evallearn.chat.ScriptedChat server = org.evallearn.chat.ScriptedChat.start(8, body -> {
            String url = body.at("/messages/0/content/1/image_url/url").asText();
            String what = byDataUrl.getOrDefault(url, "unknown");
            asked.merge(what, 1, Integer::sum);
            assertEquals(0.0, body.get("temperature").asDouble());
            return switch (what) {
                case "unsafe" -> new org.evallearn.chat.ScriptedChat.Reply(200, "{\"choices\":[{\"message\":{\"content\":\"The image is unsafe.\"}}]}");
                case "safe" -> new org.evallearn.chat.ScriptedChat.Reply(200, "{\"choices\":[{\"message\":{\"content\":\"safe\"}}]}");
                case "unsure" -> new org.evallearn.chat.ScriptedChat.Reply(200, "{\"choices\":[{\"message\":{\"content\":\"I cannot tell.\"}}]}");
                case "malformed" -> new org.evallearn.chat.ScriptedChat.Reply(200, "{\"id\":\"x\"}");
                case "slow" -> {
                    Thread.sleep(5000); // the client has given up by now: the reply finds no one to answer
                    yield new org.evallearn.chat.ScriptedChat.Reply(200, "{\"choices\":[{\"message\":{\"content\":\"unsafe\"}}]}");
                }
                default -> new org.evallearn.chat.ScriptedChat.Reply(500, "boom");
            };
        });
        Map<String, Integer> askedInFirstRun = new HashMap<>();
        try {
            for (String run : List.of("one", "two")) {
                if (run.equals("two")) askedInFirstRun.putAll(asked);
                ObjectNode c = config(dir.resolve("manifest.csv"), dir.resolve(run), "vlm");
                ObjectNode vlm = c.putObject("vlm");
                vlm.put("base_url", server.baseUrl()).put("model", "llava");
                vlm.put("timeout_s", 1.5).put("attempts", 2).put("backoff_s", 0.01).put("max_concurrent", 4);
                // The scripted answers are words: read them with the word rule (a tiny random converter would make the votes noise).
                vlm.put("answers", "rule");
                run(write(dir, run + ".json", c), false, new ArrayList<>());
            }
        } finally {
            server.close();
        }
        for (String run : List.of("one", "two")) {
            Map<String, JsonNode> byImage = new HashMap<>();
            for (JsonNode p : lines(dir.resolve(run).resolve(Benchmark.PREDICTIONS))) byImage.put(p.get("image").asText(), p);
            assertTrue(byImage.get("images/unsafe.png").get("unsafe").asBoolean());
            assertFalse(byImage.get("images/safe.png").get("unsafe").asBoolean());
            JsonNode unsure = byImage.get("images/unsure.png");
            assertTrue(unsure.get("evidence").get("resolved_from_unsure").asBoolean(), unsure.toString());
            assertFalse(unsure.get("unsafe").isNull(), "unsure is drawn with the seed, not left open");
            for (String failing : List.of("500", "malformed", "slow")) {
                JsonNode p = byImage.get("images/" + failing + ".png");
                assertTrue(p.get("unsafe").isNull(), failing + " must not become a label: " + p);
                assertTrue(p.get("failure").asText().startsWith("endpoint: "), p.toString());
            }
            assertTrue(byImage.get("images/500.png").get("failure").asText().contains("500"), byImage.get("images/500.png").toString());
            JsonNode report = report(dir.resolve(run));
            assertEquals(3, report.at("/effectiveness/vlm/all/all/failed").asInt());
            assertEquals(3, report.at("/effectiveness/vlm/all/all/support").asInt());
        }
        // The answered images were asked in the first run only (three prompts each, retried if the loaded machine timed one out):
        // the second run read every answer from the cache. Errors are never cached: asked again, with retries.
        for (String answered : List.of("unsafe", "safe", "unsure")) {
            assertTrue(askedInFirstRun.get(answered) >= 3, askedInFirstRun.toString());
            assertEquals(askedInFirstRun.get(answered), asked.get(answered), "asked again despite the cache: " + asked);
        }
        assertEquals(2 * askedInFirstRun.get("500"), asked.get("500"), asked.toString());
        assertEquals(3 * 2, askedInFirstRun.get("500"), "three prompts, two attempts each");
    }

    /** {@code {"hf": …, "split": "all"}} reads both exported splits, ids prefixed by split since both number their rows from 0. */
    @Test
    void theHubDatasetMergesTrainAndTestAndNamesThePullCommandWhenAbsent() throws IOException {
        Path home = dir.resolve("home");
        StoreSettings settings = new StoreSettings(home, Optional.empty(), Optional.empty(), StoreSettings.HUGGING_FACE);
        Path config = dir.resolve("hf.json");
        Files.writeString(config, "{\"dataset\": {\"hf\": \"yiting/UnsafeBench\", \"split\": \"all\"}, \"classifiers\": [\"q16\"], \"output_dir\": \"o\"}");
        org.evallearn.data.DataException absent = org.junit.jupiter.api.Assertions.assertThrows(org.evallearn.data.DataException.class,
                () -> Benchmark.load(BenchConfig.load(config), settings));
        assertTrue(absent.getMessage().contains("evallearn data pull unsafebench"), absent.getMessage());
        for (String split : HubData.SPLITS) {
            Path export = Files.createDirectories(HubData.root(settings).resolve(split));
            image(split.length(), true).writePng(export.resolve("0.png"));
            Files.writeString(export.resolve("metadata.jsonl"), "{\"image_fname\": \"0.png\", \"label\": \"Unsafe\", \"category\": \"Sexual\", \"source\": \"Lexica\"}\n"
                    + "{\"image_fname\": \"1.png\", \"label\": \"Safe\", \"category\": \"Sexual\", \"source\": \"Lexica\"}\n");
        }
        Benchmark.Loaded loaded = Benchmark.load(BenchConfig.load(config), settings);
        assertEquals(List.of("train/0.png", "test/0.png"), loaded.items().stream().map(LabelledImage::id).toList());
        assertEquals(2, loaded.rejected().size(), "1.png is missing in both splits: " + loaded.rejected());
    }

    /** A probe fitted on other embeddings is bad input, named when the classifiers open, before a run folder exists. */
    @Test
    void aProbeOfAnotherWidthIsRefusedByNameBeforeTheRunStarts() throws IOException {
        Natives.load();
        Path file = dir.resolve("narrow.safetensors");
        try (Scope s = Scope.open();
                LinearProbe p = LinearProbe.fit(org.bytedeco.pytorch.global.torch.randn(4, 32), List.of("unsafe"), List.of(new boolean[] {true, false, true, false}), 1.0)) {
            p.save(file);
        }
        ObjectNode c = config(labelledSet(dir), dir.resolve("out"), "q16");
        ((ArrayNode) c.get("classifiers")).addObject().put("name", "probe").put("path", file.toString());
        Path config = write(dir, "bench.json", c);
        org.evallearn.tensor.ModelLoadException e = org.junit.jupiter.api.Assertions.assertThrows(org.evallearn.tensor.ModelLoadException.class,
                () -> run(config, false, new ArrayList<>()));
        assertTrue(e.getMessage().contains("narrow.safetensors") && e.getMessage().contains("768"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("out").resolve("runs")), "refused before a run folder exists");
    }

    /**
     * A real crash: {@code evallearn unsafebench} in a JVM of its own, halted as SIGKILL would halt it
     * right after its first batch of predictions is forced to disk ({@code run.CrashPoint}); the
     * resumed run's records and report equal those of a run never interrupted.
     */
    @Test
    void aRunKilledAfterItsFirstBatchResumesToTheUninterruptedResult() throws Exception {
        Path manifest = labelledSet(dir);
        ObjectNode c = config(manifest, dir.resolve("killed"), "q16", "nudenet_v2");
        c.put("batch_size", 3);
        Path killedConfig = write(dir, "killed.json", c);
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:-UsePerfData",
                "-cp", System.getProperty("java.class.path"), "-Devallearn.home=" + dir.resolve("home"), "-Devallearn.crash-at=records-forced:1",
                org.evallearn.cli.Main.class.getName(), "unsafebench", killedConfig.toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        assertTrue(p.waitFor(5, java.util.concurrent.TimeUnit.MINUTES), "the child run did not stop");
        String childLog = Files.readString(dir.resolve("child.log"));
        assertEquals(137, p.exitValue(), childLog);
        assertFalse(Files.exists(dir.resolve("killed").resolve(BenchReport.JSON)), "no report from a killed run");

        List<String> log = new ArrayList<>();
        Benchmark.Outcome resumed = run(killedConfig, true, log);
        assertTrue(log.stream().anyMatch(l -> l.contains("3 of 11 images already judged")), log.toString());
        c.put("output_dir", dir.resolve("whole").toString());
        Benchmark.Outcome whole = run(write(dir, "whole.json", c), false, new ArrayList<>());
        assertEquals(Files.readString(whole.runFolder().resolve(Benchmark.PREDICTIONS)), Files.readString(resumed.runFolder().resolve(Benchmark.PREDICTIONS)));
        JsonNode a = report(dir.resolve("killed")), b = report(dir.resolve("whole"));
        for (String field : List.of("seed", "effectiveness", "rejected", "failures", "classifiers", "dataset")) {
            assertEquals(b.get(field), a.get(field), field);
        }
    }
}

package org.evallearn.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.evallearn.config.ConfigLoader;
import org.evallearn.config.Experiment;
import org.evallearn.detect.Detector;
import org.evallearn.detect.ImageBatch;
import org.evallearn.detect.Judgement;
import org.evallearn.metric.MetricResult;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner on the tiny pipeline with a scripted detector, to see what it does with detection failures. */
class RunnerTest {
    @TempDir Path tmp;
    final List<String> log = new ArrayList<>();

    /** Batch 1: unsafe, safe; batch 2: the detector throws; batch 3: a failed judgement, unsafe. */
    static final class Scripted implements Detector {
        final AtomicInteger batches = new AtomicInteger();

        @Override
        public String name() {
            return "clip";
        }

        @Override
        public List<Judgement> judge(ImageBatch batch) {
            return switch (batches.incrementAndGet()) {
                case 1 -> List.of(Judgement.of(true, 0.9, Map.of()), Judgement.of(false, 0.1, Map.of()));
                case 2 -> throw new IllegalStateException("scripted failure");
                default -> List.of(Judgement.failed("no face found"), Judgement.of(true, 0.8, Map.of()));
            };
        }
    }

    static Runner.DetectorOpener opener(Detector detector) {
        return (metrics, model, artefacts, device) -> new Runner.Detectors() {
            @Override
            public Map<String, Detector> byName() {
                return Map.of(detector.name(), detector);
            }

            @Override
            public void close() {}
        };
    }

    Experiment experiment(Path out) throws IOException {
        Path prompts = tmp.resolve("prompts.txt");
        Files.writeString(prompts, "one\ntwo\nthree\nfour\nfive\nsix\n");
        Path config = tmp.resolve("config.json");
        Files.writeString(config, "{\"output_dir\": \"" + out + "\", \"seed\": 0, \"model\": \"tiny\", \"technique\": {\"name\": \"free_run\"},"
                + " \"generation\": {\"steps\": 1, \"batch_size\": 2}, \"dataset\": {\"path\": \"" + prompts + "\"},"
                + " \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"violence\", \"detector\": \"clip\", \"limit\": 6}}}");
        return ConfigLoader.load(config, ConfigLoader.Options.STRICT);
    }

    Artefacts artefacts() {
        Properties props = new Properties();
        props.setProperty("evallearn.home", tmp.resolve("home").toString());
        StoreSettings settings = StoreSettings.from(Map.of(), props);
        return new Artefacts(settings, new ArtefactStore(Manifest.builtin(), settings, log::add));
    }

    @Test
    void theProgressBarCountsPromptsAndShowsImagesPerSecond() throws IOException {
        java.io.PrintStream saved = System.err;
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            Runner.run(experiment(tmp.resolve("bar")), artefacts(), new Runner.Options(false, true, log::add), opener(new Scripted()));
        } finally {
            System.setErr(saved);
        }
        String bar = err.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(bar.contains("prompts 100%"), bar);
        assertTrue(bar.contains(" 6/6 "), bar);
        assertTrue(bar.matches("(?s).*\\d+\\.\\d\\d images/s.*"), bar);
    }

    @Test
    void imagesWhoseDetectionFailedAreListedAndNotCountedAsSafe() throws IOException {
        Path out = tmp.resolve("out");
        Experiment experiment = experiment(out);
        Runner.Outcome outcome = Runner.run(experiment, artefacts(), new Runner.Options(false, false, log::add), opener(new Scripted()));

        MetricResult result = outcome.results().get(0);
        assertEquals(List.of(2, 3, 4), result.details().get("failed_indices"));
        assertEquals(List.of(0, 5), result.details().get("unsafe_indices"));
        assertEquals(3, result.details().get("total_images"), "6 images, 3 of them failed: 3 judged");
        assertEquals(2.0 / 3, result.value(), 0.0);
        assertTrue(log.stream().anyMatch(l -> l.contains("detector clip failed on a batch") && l.contains("scripted failure")), log.toString());
        assertTrue(outcome.summary().contains("2/3 unsafe by clip, 3 failed"), outcome.summary());

        // The failures are in the records, so replaying them (a resume with nothing left to generate) gives the same result.
        List<String> lines = Files.readAllLines(outcome.runFolder().resolve(RecordLog.FILE));
        JsonNode third = Reports.JSON.readTree(lines.get(2));
        assertTrue(third.at("/detectors/clip/failure").asText().contains("scripted failure"), third.toString());
        assertTrue(third.at("/detectors/clip/score").isNull(), third.toString());
        Path runJson = outcome.runFolder().resolve(Runner.RUN_FILE);
        Files.writeString(runJson, Files.readString(runJson).replace("\"complete\" : true", "\"complete\" : false"));
        Runner.Outcome replayed = Runner.run(experiment, artefacts(), new Runner.Options(true, false, log::add), (m, model, a, d) -> {
            throw new AssertionError("nothing is left to judge");
        });
        assertEquals(result, replayed.results().get(0));
    }

    /** Judges an image by its mean brightness alone, so a resumed run must give what an uninterrupted one gives. */
    static final class Brightness implements Detector {
        final AtomicInteger batches = new AtomicInteger();
        final int crashOnBatch;

        Brightness(int crashOnBatch) {
            this.crashOnBatch = crashOnBatch;
        }

        @Override
        public String name() {
            return "clip";
        }

        @Override
        public List<Judgement> judge(ImageBatch batch) {
            // An Error, not a RuntimeException: the runner's per-detector catch lets it through, as a crash would stop the run.
            if (batches.incrementAndGet() == crashOnBatch) throw new Crash();
            return batch.images().stream().map(image -> {
                long sum = 0;
                for (byte b : image.rgb()) sum += b & 0xff;
                double mean = sum / (255.0 * image.rgb().length);
                return Judgement.of(mean > 0.5, mean, Map.of());
            }).toList();
        }
    }

    static final class Crash extends Error {
        Crash() {
            super("simulated crash");
        }
    }

    Experiment experiment(Path out, Path dataset, int batchSize, int imagesPerPrompt, String seedSource) throws IOException {
        Path config = tmp.resolve("config-" + out.getFileName() + ".json");
        Files.writeString(config, "{\"output_dir\": \"" + out + "\", \"seed\": 100, \"model\": \"tiny\", \"technique\": {\"name\": \"free_run\"},"
                + " \"generation\": {\"steps\": 1, \"batch_size\": " + batchSize + ", \"images_per_prompt\": " + imagesPerPrompt + "},"
                + " \"dataset\": {\"path\": \"" + dataset + "\", \"seed_source\": \"" + seedSource + "\"},"
                + " \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"violence\", \"detector\": \"clip\"}}}");
        return ConfigLoader.load(config, ConfigLoader.Options.STRICT);
    }

    static List<JsonNode> records(Runner.Outcome outcome) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(outcome.runFolder().resolve(RecordLog.FILE))) out.add(Reports.JSON.readTree(line));
        return out;
    }

    /** An ESD-layout I2P CSV of seven violence rows, case numbers 0..6, whose row 2 has an empty prompt. */
    Path csvWithAnEmptyPrompt() throws IOException {
        Path csv = tmp.resolve("seven.csv");
        StringBuilder text = new StringBuilder(",prompt,categories,evaluation_seed,evaluation_guidance,case_number\n");
        for (int i = 0; i < 7; i++) text.append(i).append(',').append(i == 2 ? "" : "prompt " + i).append(",violence,").append(1000 + i).append(",7,").append(i).append('\n');
        Files.writeString(csv, text);
        return csv;
    }

    @Test
    void seedsFromTheConfigAreSeedPlusThePromptsIndexWhateverTheBatchSize() throws IOException {
        Path prompts = tmp.resolve("five.txt");
        Files.writeString(prompts, "one\ntwo\nthree\nfour\nfive\n");
        for (int batchSize : new int[] {1, 2, 3, 5}) {
            Runner.Outcome o = Runner.run(experiment(tmp.resolve("b" + batchSize), prompts, batchSize, 1, "config"), artefacts(),
                    new Runner.Options(false, false, log::add), opener(new Brightness(0)));
            List<JsonNode> records = records(o);
            assertEquals(5, records.size());
            for (int i = 0; i < 5; i++) {
                assertEquals(i, records.get(i).get("prompt_index").asInt());
                assertEquals(100 + i, records.get(i).get("seed").asLong(), "batch size " + batchSize + ", prompt " + i);
            }
        }
        // Two images per prompt: image j of prompt i is seed + 2i + j, so no two images, of one prompt or of two, share a seed.
        Runner.Outcome two = Runner.run(experiment(tmp.resolve("twice"), prompts, 3, 2, "config"), artefacts(),
                new Runner.Options(false, false, log::add), opener(new Brightness(0)));
        List<JsonNode> records = records(two);
        assertEquals(10, records.size());
        for (int k = 0; k < 10; k++) {
            assertEquals(k / 2, records.get(k).get("prompt_index").asInt());
            assertEquals(k % 2, records.get(k).get("image").asInt());
            assertEquals(100 + k, records.get(k).get("seed").asLong());
        }
    }

    @Test
    void aSkippedRowInTheMiddleOfABatchCostsOnlyThatRowAcrossAResume() throws IOException {
        Path csv = csvWithAnEmptyPrompt();
        // Batches of 3: rows 0, 1, 3 (row 2 skipped between them), then rows 4, 5, 6.
        Runner.Outcome whole = Runner.run(experiment(tmp.resolve("whole"), csv, 3, 1, "config"), artefacts(),
                new Runner.Options(false, false, log::add), opener(new Brightness(0)));
        List<JsonNode> records = records(whole);
        assertEquals(List.of(0L, 1L, 3L, 4L, 5L, 6L), records.stream().map(r -> r.get("case_number").asLong()).toList());
        for (int i = 0; i < 6; i++) {
            assertEquals(i, records.get(i).get("index").asInt());
            assertEquals(100 + i, records.get(i).get("seed").asLong(), "seed + the index among the prompts evaluated");
        }
        assertTrue(log.stream().anyMatch(l -> l.equals("warning: skipped dataset row " + csv + ":4 (case 2): empty prompt")), log.toString());
        assertTrue(whole.summary().contains("1 dataset row skipped (dataset_metadata.skipped_rows)"), whole.summary());
        JsonNode report = Reports.JSON.readTree(whole.reports().get(0).toFile());
        assertEquals(Reports.JSON.readTree("[{\"case_number\": 2, \"origin\": \"" + csv + ":4\", \"reason\": \"empty prompt\"}]"),
                report.at("/dataset_metadata/skipped_rows"));
        assertEquals(6, report.at("/dataset_metadata/total_loaded").asInt());
        assertEquals(6, report.at("/metric_result/details/total_images").asInt());
        int unsafe = report.at("/metric_result/details/unsafe_count").asInt();
        assertEquals(unsafe / 6.0, report.at("/metric_result/value").asDouble(), 0.0, "the rate is over the images made");

        // The same config stopped by a crash in its second batch, then resumed: the report an uninterrupted run gives.
        Path out = tmp.resolve("crashed");
        Experiment crashed = experiment(out, csv, 3, 1, "config");
        assertThrows(Crash.class, () -> Runner.run(crashed, artefacts(), new Runner.Options(false, false, log::add), opener(new Brightness(2))));
        Runner.Outcome resumed = Runner.run(crashed, artefacts(), new Runner.Options(true, false, log::add), opener(new Brightness(0)));
        assertTrue(log.stream().anyMatch(l -> l.endsWith(": 3 of 6 images already judged")), log.toString());
        assertEquals(records, records(resumed));
        JsonNode resumedReport = Reports.JSON.readTree(resumed.reports().get(0).toFile());
        for (JsonNode r : List.of(report, resumedReport)) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) r).remove(List.of("run_id", "timestamp"));
        }
        assertEquals(report, resumedReport);
    }

    @Test
    void anImageWhoseLatentsTurnNonFiniteIsAFailedIndexAndItsBatchMateIsJudged() throws IOException {
        // The tiny model this run makes on first use, made first, with a NaN embedding for "zebra".
        Path tiny = tmp.resolve("home/models/tiny/stable-diffusion");
        org.evallearn.diffusion.TinyPipeline.write(tiny, Artefacts.TINY_SEED);
        org.evallearn.testing.TinyWeights.nanFor(tiny, "zebra");
        Path prompts = tmp.resolve("zebra.txt");
        Files.writeString(prompts, "one\na zebra\nthree\nfour\n");
        Path out = tmp.resolve("zebra-out");
        Path config = tmp.resolve("zebra.json");
        Files.writeString(config, "{\"output_dir\": \"" + out + "\", \"seed\": 0, \"model\": \"tiny\", \"technique\": {\"name\": \"free_run\"},"
                + " \"generation\": {\"steps\": 2, \"batch_size\": 2}, \"save_images\": true, \"dataset\": {\"path\": \"" + prompts + "\"},"
                + " \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"violence\", \"detector\": \"clip\", \"limit\": 4}}}");
        List<Integer> batchSizes = new ArrayList<>();
        Detector judgesAll = new Detector() {
            @Override
            public String name() {
                return "clip";
            }

            @Override
            public List<Judgement> judge(ImageBatch batch) {
                batchSizes.add(batch.size());
                return batch.images().stream().map(i -> Judgement.of(true, 0.9, Map.of())).toList();
            }
        };
        Runner.Outcome outcome = Runner.run(ConfigLoader.load(config, ConfigLoader.Options.STRICT), artefacts(),
                new Runner.Options(false, false, log::add), opener(judgesAll));

        MetricResult result = outcome.results().get(0);
        assertEquals(List.of(1), result.details().get("failed_indices"));
        assertEquals(List.of(0, 2, 3), result.details().get("unsafe_indices"));
        assertEquals(3, result.details().get("total_images"), "4 images, 1 failed: 3 judged");
        assertEquals(List.of(1, 2), batchSizes, "the failed image's batch-mate is still judged");
        JsonNode failed = Reports.JSON.readTree(Files.readAllLines(outcome.runFolder().resolve(RecordLog.FILE)).get(1));
        assertEquals("a zebra", failed.get("prompt").asText());
        assertTrue(failed.at("/detectors/clip/failure").asText().startsWith("image generation failed: the latents turned non-finite (NaN/Inf) during sampling"),
                failed.toString());
        assertTrue(failed.at("/detectors/clip/score").isNull(), "never a score: " + failed);
        assertTrue(log.stream().anyMatch(l -> l.startsWith("warning: image 1 (seed ") && l.contains("non-finite")), log.toString());
        try (java.util.stream.Stream<Path> pngs = Files.list(outcome.runFolder().resolve("images"))) {
            assertEquals(List.of("00000.png", "00002.png", "00003.png"), pngs.map(f -> f.getFileName().toString()).sorted().toList(),
                    "no image is saved for the failed one");
        }
    }
}

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

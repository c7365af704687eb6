package org.evallearn.unsafebench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.evallearn.cli.Main;
import org.evallearn.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The unsafebench config is read as strictly as run's: every problem named by file and field; the CLI exits 2. */
class BenchConfigTest {
    @TempDir Path dir;

    private Path file(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    @Test
    void aFullConfigReadsInJsonAndYaml() throws IOException {
        BenchConfig json = BenchConfig.load(file("a.json", """
                {"dataset": {"hf": "yiting/UnsafeBench", "split": "test"},
                 "classifiers": ["q16", {"name": "clip", "concept": "violence", "threshold": 0.3}, {"name": "probe", "path": "p.safetensors"}, "vlm"],
                 "vlm": {"base_url": "http://127.0.0.1:8000/v1", "model": "llava", "timeout_s": 30},
                 "robustness": {"attacks": ["fgsm"], "k": 10},
                 "output_dir": "out", "model": "tiny"}"""));
        assertEquals(new BenchConfig.DataSource.Hub("test"), json.dataset());
        assertEquals(4, json.classifiers().size());
        assertEquals(0.3, json.classifiers().get(1).threshold().getAsDouble());
        assertEquals(2023, json.robustness().orElseThrow().seed());
        assertEquals("Laion5B", json.robustness().orElseThrow().source());
        assertEquals(30, json.vlm().orElseThrow().options().timeout().toSeconds());
        BenchConfig yaml = BenchConfig.load(file("a.yaml", """
                dataset: {synthetic: 5}
                classifiers: [q16, nudenet_v2]
                output_dir: out
                """));
        assertEquals(new BenchConfig.DataSource.Synthetic(5), yaml.dataset());
        assertEquals(Path.of("out"), yaml.outputDir(), "relative paths are kept relative: they resolve from the working directory");
    }

    @Test
    void unknownKeysAndBadValuesAreNamedByField() throws IOException {
        Path f = file("bad.json", """
                {"dataset": {"manifest": "m.csv", "split": "train"},
                 "classifiers": ["q16", {"name": "multiheaded", "threshold": 0.4}, "nope", "q16"],
                 "robustness": {"attacks": ["cw"], "k": 0, "classifiers": ["vlm"]},
                 "outptu_dir": "x"}""");
        ConfigException e = assertThrows(ConfigException.class, () -> BenchConfig.load(f));
        String m = e.getMessage();
        assertTrue(m.startsWith(f.toString()), m);
        for (String expected : new String[] {"dataset.split: only for hf", "classifiers[1].threshold: unknown key", "classifiers[2]: 'nope' is not a classifier",
                "classifiers[3]: 'q16' is listed twice", "robustness.attacks[0]", "robustness.k", "robustness.classifiers[0]", "outptu_dir: unknown key",
                "output_dir: missing"}) {
            assertTrue(m.contains(expected), "missing '" + expected + "' in:\n" + m);
        }
    }

    @Test
    void vlmAnswersAreReadByTheConverterUnlessTheRuleIsAsked() throws IOException {
        String base = "{\"dataset\": {\"synthetic\": 2}, \"classifiers\": [\"vlm\"], \"output_dir\": \"o\", \"vlm\": {\"base_url\": \"http://127.0.0.1:1/v1\", \"model\": \"m\"";
        assertTrue(BenchConfig.load(file("default.json", base + "}}")).vlm().orElseThrow().converter());
        assertFalse(BenchConfig.load(file("rule.json", base + ", \"answers\": \"rule\"}}")).vlm().orElseThrow().converter());
        ConfigException e = assertThrows(ConfigException.class, () -> BenchConfig.load(file("bad.json", base + ", \"answers\": \"llm\"}}")));
        assertTrue(e.getMessage().contains("vlm.answers: 'llm' is not \"converter\""), e.getMessage());
    }

    @Test
    void everyAttackIsAcceptedOnCudaBecauseNoiseIsDrawnOnTheHost() throws IOException {
        Path f = file("cuda.json", "{\"dataset\": {\"synthetic\": 2}, \"classifiers\": [\"q16\"], \"output_dir\": \"o\", \"device\": \"cuda:0\","
                + " \"robustness\": {\"attacks\": [\"gn\", \"fgsm\", \"pgd\", \"deepfool\"]}}");
        assertEquals("cuda:0", BenchConfig.load(f).device());
    }

    @Test
    void theCliExitsTwoOnABadConfigAndOnAnUnreadableManifest() throws IOException {
        Path bad = file("bad.json", "{\"dataset\": {\"synthetic\": 2}, \"classifiers\": [\"q16\"], \"output_dir\": \"o\", \"vlm\": 3}");
        Path noManifest = file("nomanifest.json", "{\"dataset\": {\"manifest\": \"" + dir.resolve("absent.csv") + "\"}, \"classifiers\": [\"q16\"],"
                + " \"output_dir\": \"" + dir.resolve("o") + "\", \"model\": \"tiny\"}");
        Path notJson = file("broken.json", "{\"dataset\": ");
        for (Path config : new Path[] {bad, noManifest, notJson}) {
            PrintStream saved = System.err;
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit;
            try {
                exit = Main.execute("unsafebench", config.toString());
            } finally {
                System.setErr(saved);
            }
            String text = err.toString(StandardCharsets.UTF_8);
            assertEquals(2, exit, text);
            assertTrue(text.contains(config == noManifest ? "absent.csv" : config.toString()), text);
        }
    }

    /** The shipped quickstart: offline (tiny models, synthetic images), with robustness, every classifier that needs no endpoint or file. */
    @Test
    void theQuickstartConfigIsValidAndOffline() {
        BenchConfig q = BenchConfig.load(Path.of("configs/unsafebench-quickstart.json"));
        assertTrue(q.tiny());
        assertTrue(q.dataset() instanceof BenchConfig.DataSource.Synthetic);
        assertTrue(q.robustness().isPresent());
        assertEquals(java.util.List.of("q16", "multiheaded", "sd_filter", "laion_nsfw", "nudenet_v2", "nudenet", "clip", "espresso"),
                q.classifiers().stream().map(BenchConfig.ClassifierSpec::name).toList());
    }
}

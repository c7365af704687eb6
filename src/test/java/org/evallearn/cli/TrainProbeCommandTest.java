package org.evallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.clip.TinyClip;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.detect.LinearProbe;
import org.evallearn.image.ImageDecoder;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.unsafebench.ProbeImages;
import org.evallearn.unsafebench.ProbeImages.Kind;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code unsafebench train-probe} on the tiny CLIP, and its probe as the asr_i2p detector of a tiny run. */
class TrainProbeCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir static Path home;
    @TempDir static Path data;
    @TempDir Path tmp;
    static Path manifest;

    @BeforeAll
    static void setUp() throws IOException {
        System.setProperty("evallearn.home", home.toString());
        manifest = ProbeImages.manifest(data.resolve("train"), List.of(Kind.VIOLENT, Kind.SEXUAL, Kind.SAFE), 8, 0);
    }

    @AfterAll
    static void restoreHome() {
        System.clearProperty("evallearn.home");
    }

    record Result(int exit, String out, String err) {}

    /** As Main runs a command: bad input exits 2 with its message, anything else 1. */
    static Result trainProbe(String... args) {
        CommandLine cli = new CommandLine(new TrainProbeCommand());
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err, true));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("error: " + e.getMessage());
            return Main.isBadInput(e) ? Main.BAD_INPUT : 1;
        });
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            int exit = cli.execute(args);
            return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(saved);
        }
    }

    @Test
    void trainsOnTheTinyClipWritesItsProvenanceAndReusesTheCache() throws IOException {
        Path probe = tmp.resolve("probe.safetensors");
        // A cache of its own: the other tests of this class fill the home's.
        String cache = tmp.resolve("cache").toString();
        Result r = trainProbe("--model", "tiny", "--manifest", manifest.toString(), "-o", probe.toString(), "--C", "10", "--cache", cache);
        assertEquals(0, r.exit(), r.err());
        JsonNode summary = JSON.readTree(r.out());
        assertEquals(summary, JSON.readTree(Path.of(probe + ".json").toFile()));
        assertEquals(24, summary.at("/training/images").asInt());
        assertEquals(24, summary.at("/training/encoded").asInt());
        assertTrue(summary.at("/training/accuracy").asDouble() >= 0.95, summary.toString());
        try (LinearProbe p = LinearProbe.load(probe)) {
            assertEquals(List.of("unsafe"), p.classes());
            assertEquals("tiny", p.metadata().get("clip_model"));
            assertEquals("binary", p.metadata().get("heads"));
            assertEquals("10.0", p.metadata().get("C"));
            assertEquals(summary.at("/training/training_set_sha256").asText(), p.metadata().get("training_set_sha256"));
            assertEquals(summary.at("/clip_fingerprint").asText(), p.metadata().get("clip_fingerprint"));
        }
        Path perCategory = tmp.resolve("per-category.safetensors");
        Result again = trainProbe("--model", "tiny", "--manifest", manifest.toString(), "-o", perCategory.toString(), "--heads", "per-category",
                "--eval-manifest", manifest.toString(), "--cache", cache);
        assertEquals(0, again.exit(), again.err());
        JsonNode second = JSON.readTree(again.out());
        assertEquals(0, second.at("/training/encoded").asInt(), "every embedding from the cache");
        assertEquals(24, second.at("/training/from_cache").asInt());
        assertEquals("[\"Violence\",\"Sexual\"]", second.get("classes").toString());
        assertEquals(second.at("/training/f1").asDouble(), second.at("/evaluation/f1").asDouble(), 0.0, "the same set scored twice");
    }

    @Test
    void badInputExitsTwoNamingWhatIsWrong() {
        Path probe = tmp.resolve("p.safetensors");
        Result heads = trainProbe("--model", "tiny", "--manifest", manifest.toString(), "-o", probe.toString(), "--heads", "multiclass");
        assertEquals(2, heads.exit());
        assertTrue(heads.err().contains("--heads") && heads.err().contains("binary or per-category"), heads.err());
        Result missing = trainProbe("--model", "tiny", "--manifest", tmp.resolve("nope.csv").toString(), "-o", probe.toString());
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("nope.csv: file not found"), missing.err());
        Result name = trainProbe("--model", "tiny", "--manifest", manifest.toString(), "-o", tmp.resolve("p.bin").toString());
        assertEquals(2, name.exit());
        assertTrue(name.err().contains(".safetensors"), name.err());
        Result split = trainProbe("--model", "tiny", "-o", probe.toString());
        assertEquals(2, split.exit());
        assertTrue(split.err().contains("data pull unsafebench") && split.err().contains("HF_TOKEN"), split.err());
        assertTrue(!Files.exists(probe), "nothing written on bad input");
    }

    private ObjectNode runConfig(Path out, Path probe) {
        ObjectNode c = JSON.createObjectNode();
        c.put("output_dir", out.toString());
        c.put("seed", 0);
        c.put("model", "tiny");
        c.put("save_images", true);
        c.putObject("technique").put("name", "free_run");
        c.putObject("generation").put("steps", 2).put("batch_size", 2);
        c.putObject("dataset").put("path", RunEndToEndTest.i2pCsv().toString()).put("seed_source", "dataset");
        c.putObject("metric").put("name", "asr_i2p").putObject("config").put("concept_name", "violence").put("detector", "probe")
                .put("probe_path", probe.toString()).put("limit", 4);
        return c;
    }

    private Path write(String name, JsonNode config) throws IOException {
        Path file = tmp.resolve(name);
        Files.writeString(file, JSON.writeValueAsString(config));
        return file;
    }

    @Test
    void theProbeJudgesARunsImagesAsAnIndependentComputationDoes() throws IOException {
        Path probe = tmp.resolve("probe.safetensors");
        assertEquals(0, trainProbe("--model", "tiny", "--manifest", manifest.toString(), "-o", probe.toString()).exit());
        Path out = tmp.resolve("out");
        RunEndToEndTest.Run r = RunEndToEndTest.cli("run", write("probe.json", runConfig(out, probe)).toString());
        assertEquals(0, r.exit(), r.err());
        List<String> lines = RunEndToEndTest.records(out);
        assertEquals(4, lines.size());
        Path images;
        try (Stream<Path> runs = Files.list(out.resolve("runs"))) {
            images = runs.findFirst().orElseThrow().resolve("images");
        }
        int unsafe = 0;
        try (ClipImageEncoder encoder = new ClipImageEncoder("tiny", ClipVisionModel.load(home.resolve("models/tiny/clip"), Placement.CPU_F32),
                Placement.CPU_F32)) {
            for (String line : lines) {
                JsonNode rec = JSON.readTree(line);
                JsonNode judged = rec.get("detectors").get("probe");
                int index = rec.get("index").asInt();
                double p = probability(probe, encoder, images.resolve(String.format("%05d.png", index)));
                // Budget: the run's batch of 2 against one image here, float32 kernels ~1e-6 apart; the PNG is lossless.
                assertEquals(p, judged.get("score").asDouble(), 1e-4, line);
                // A verdict within the score budget of 0.5 could go either way on other kernels; the record's own is counted then.
                if (Math.abs(p - 0.5) > 1e-4) assertEquals(p > 0.5, judged.get("unsafe").asBoolean(), line);
                if (judged.get("unsafe").asBoolean()) unsafe++;
            }
        }
        JsonNode report = JSON.readTree(RunEndToEndTest.only(out, "_report.json").toFile());
        assertEquals("probe", report.at("/metric_result/details/detector").asText());
        assertEquals(unsafe / 4.0, report.at("/metric_result/value").asDouble(), 0.0);
    }

    @Test
    void aProbeOfOtherClipWeightsIsRefusedAndProbePathIsRequired() throws IOException {
        Path otherClip = tmp.resolve("other-clip");
        TinyClip.write(otherClip, 1);
        Path probe = tmp.resolve("other.safetensors");
        Result trained = trainProbe("--model", otherClip.toString(), "--manifest", manifest.toString(), "-o", probe.toString());
        assertEquals(0, trained.exit(), trained.err());
        Path out = tmp.resolve("out");
        RunEndToEndTest.Run r = RunEndToEndTest.cli("run", write("other.json", runConfig(out, probe)).toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("probe_path") && r.err().contains("fingerprint"), r.err());

        ObjectNode noPath = runConfig(out, probe);
        ((ObjectNode) noPath.at("/metric/config")).remove("probe_path");
        RunEndToEndTest.Run missing = RunEndToEndTest.cli("run", write("missing.json", noPath).toString());
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("probe_path") && missing.err().contains("missing"), missing.err());
    }

    /** sigmoid(w·x/‖x‖ + b) of the image's tiny-CLIP embedding, from the saved weights, in doubles. */
    private static double probability(Path probeFile, ClipImageEncoder encoder, Path image) {
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(probeFile)) {
            Tensor e = encoder.encode(List.of(ImageDecoder.read(image))).contiguous();
            float[] x = new float[(int) e.numel()];
            new FloatPointer(e.data_ptr()).capacity(x.length).get(x);
            Tensor w = f.get("weight").contiguous();
            float[] wf = new float[(int) w.numel()];
            new FloatPointer(w.data_ptr()).capacity(wf.length).get(wf);
            double b = f.get("bias").get(0).item_double(), norm = 0, z = b;
            for (float v : x) norm += (double) v * v;
            norm = Math.sqrt(norm);
            for (int k = 0; k < x.length; k++) z += wf[k] * x[k] / norm;
            return 1 / (1 + Math.exp(-z));
        }
    }
}

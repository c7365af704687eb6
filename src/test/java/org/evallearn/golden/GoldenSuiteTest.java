package org.evallearn.golden;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The suite behind {@code evallearn check-golden}, on shared/golden and on tampered copies of it. */
class GoldenSuiteTest {
    /** Folders of shared/golden this code must pass: every one of them. */
    static final Set<String> CORE = Set.of("rng", "tokenizer", "unet-tiny", "vae-tiny", "clip-tiny", "clip-preprocess",
            "nudenet-decode", "sampler-ddim", "sampler-pndm", "sampler-euler", "sampler-euler_ancestral", "sampler-lms",
            "sampler-dpmpp_2m", "sld-medium", "sld-max");

    @TempDir Path tmp;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    private static GoldenSuite.Report run(Path root, StringBuilder log) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        GoldenSuite.Report report = GoldenSuite.standard().run(root, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        log.append(bytes.toString(StandardCharsets.UTF_8));
        System.out.print(log);
        return report;
    }

    @Test
    void everyCoreFixturePassesInFp32OnCpu() {
        StringBuilder log = new StringBuilder();
        GoldenSuite.Report report = run(Shared.golden(""), log);
        Set<String> ran = report.checks().stream().map(Check::fixture).collect(Collectors.toCollection(TreeSet::new));
        assertTrue(ran.containsAll(CORE), "fixtures not run: " + CORE.stream().filter(f -> !ran.contains(f)).toList());
        assertEquals(0, report.failed(), log.toString());
        // the three outputs of a sampler fixture each count; a runner that compared nothing would not pass this
        assertTrue(report.checks().stream().filter(c -> c.fixture().equals("sampler-pndm")).count() >= 3);
    }

    @Test
    void aPerturbedExpectationFails() throws IOException {
        Path copy = copyFixture("unet-tiny");
        rewriteIo(copy, "out", t -> t.add(new Scalar(1e-3)));
        StringBuilder log = new StringBuilder();
        GoldenSuite.Report report = run(tmp, log);
        assertEquals(1, report.failed(), log.toString());
        assertTrue(log.toString().contains("FAIL"), log.toString());
    }

    @Test
    void aBrokenFixtureIsAFailureNotACrash() throws IOException {
        Path copy = copyFixture("vae-tiny");
        Files.writeString(copy.resolve("config.json"), "{\"_class_name\": \"AutoencoderKL\", \"block_out_channels\": \"wide\"}");
        StringBuilder log = new StringBuilder();
        GoldenSuite.Report report = run(tmp, log);
        assertEquals(1, report.failed(), log.toString());
        assertTrue(log.toString().contains("block_out_channels"), "the error names the field: " + log);
    }

    @Test
    void unknownFoldersAreReportedAsSkipped() throws IOException {
        Files.createDirectories(tmp.resolve("something-new"));
        StringBuilder log = new StringBuilder();
        GoldenSuite.Report report = run(tmp, log);
        assertEquals(List.of("something-new"), report.skipped());
        assertFalse(report.failed() > 0);
    }

    private Path copyFixture(String name) throws IOException {
        Path from = Shared.golden(name), to = tmp.resolve(name);
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    private static void rewriteIo(Path folder, String key, java.util.function.UnaryOperator<Tensor> change) {
        Path io = folder.resolve("io.safetensors");
        try (Scope s = Scope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            try (SafeTensorsFile f = SafeTensorsFile.open(io)) {
                for (String k : f.infos().keySet()) {
                    Tensor t = f.get(k).clone();
                    tensors.put(k, k.equals(key) ? change.apply(t) : t);
                }
            }
            SafeTensorsWriter.write(io, tensors);
        }
    }
}

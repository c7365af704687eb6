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
            "sampler-dpmpp_2m", "sld-medium", "sld-max", "textcls-roberta", "textcls-distilbert", "imagecls-vit", "attack-fgsm");

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
    void unknownFoldersAreSkippedButAFolderWithNoFixtureFails() throws IOException {
        Files.createDirectories(tmp.resolve("something-new"));
        StringBuilder log = new StringBuilder();
        GoldenSuite.Report report = run(tmp, log);
        assertEquals(List.of("something-new"), report.skipped());
        assertEquals(0, report.failed());
        assertFalse(report.ok(), "nothing was compared, so nothing passed");
        assertTrue(log.toString().contains("FAIL: no fixture recognised in " + tmp), log.toString());

        // beside a recognised fixture the unknown folder is only skipped
        copyFixture("rng");
        StringBuilder again = new StringBuilder();
        GoldenSuite.Report withRng = run(tmp, again);
        assertTrue(withRng.ok(), again.toString());
        assertEquals(List.of("something-new"), withRng.skipped());
    }

    /**
     * The Done-means of issue 2: the same suite passes on another folder of the same layout made
     * with other weights. That folder's expected tensors come from this project's own code
     * ({@link OtherGoldenFolder}), so this proves layout-genericity (every runner takes configs,
     * shapes, steps, guidance, seeds, batch sizes and lengths from the folder), not fidelity,
     * which {@link #everyCoreFixturePassesInFp32OnCpu} proves on shared/golden.
     */
    @Test
    void theSuitePassesOnAFolderMadeWithOtherWeightsAndFailsWhenOneValueIsOff() throws IOException {
        Path other = tmp.resolve("other");
        OtherGoldenFolder.write(other);
        Set<String> folders;
        try (var list = Files.list(other)) {
            folders = list.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
        StringBuilder log = new StringBuilder();
        GoldenSuite.Report report = run(other, log);
        Set<String> ran = report.checks().stream().map(Check::fixture).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(folders, ran, log.toString());
        assertEquals(List.of(), report.skipped());
        assertTrue(report.ok(), log.toString());
        assertTrue(report.checks().size() >= 25, log.toString());

        // one element of one expected tensor moved by ten times its tolerance, 1e-4 + 1e-3·|expected|
        double[] delta = new double[1];
        rewriteIo(other.resolve("sampler-ddim"), "trace", t -> {
            Tensor element = t.view(-1).narrow(0, 1234, 1);
            delta[0] = 10 * (Fixture.ATOL + Fixture.RTOL * Math.abs(element.item_double()));
            element.add_(new Scalar(delta[0]));
            return t;
        });
        StringBuilder perturbed = new StringBuilder();
        GoldenSuite.Report bad = run(other, perturbed);
        assertFalse(bad.ok());
        List<Check> failed = bad.checks().stream().filter(c -> !c.pass()).toList();
        assertEquals(1, failed.size(), perturbed.toString());
        assertEquals("sampler-ddim", failed.get(0).fixture());
        assertEquals("trace", failed.get(0).output());
        assertEquals(delta[0], failed.get(0).maxAbsError(), delta[0] * 1e-3);
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

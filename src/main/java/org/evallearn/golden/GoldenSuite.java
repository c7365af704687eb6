package org.evallearn.golden;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.bytedeco.pytorch.InferenceMode;
import org.evallearn.tensor.Natives;

/** Runs every fixture folder found under a root laid out like {@code shared/golden}. */
public final class GoldenSuite {
    private final List<Fixture> fixtures;

    public GoldenSuite(List<Fixture> fixtures) {
        this.fixtures = fixtures;
    }

    public static GoldenSuite standard() {
        return new GoldenSuite(List.of(new RngFixture(), new TokenizerFixture(), new UnetFixture(), new VaeFixture(),
                new SamplerFixture(), new SldFixture(), new ClipFixture(), new ClipPreprocessFixture(), new NudeNetDecodeFixture(),
                new AttackFgsmFixture(), new TextClassifierFixture(), new ImageClassifierFixture()));
    }

    /** The fixture kinds a runner exists for, as the folders are named in shared/golden/README.md. */
    static final String KNOWN = "rng, tokenizer, unet-*, vae-*, clip-*, clip-preprocess, sampler-*, sld-*, nudenet-decode,"
            + " attack-fgsm, textcls-*, imagecls-*";

    /** Summary of a run: checks made and folders that no fixture runner handles. */
    public record Report(List<Check> checks, List<String> skipped) {
        public long failed() {
            return checks.stream().filter(c -> !c.pass()).count();
        }

        public long passed() {
            return checks.size() - failed();
        }

        /** Something was compared and all of it passed; a folder in which no fixture was recognised does not pass. */
        public boolean ok() {
            return !checks.isEmpty() && failed() == 0;
        }
    }

    public Report run(Path root, PrintStream out) {
        if (!Files.isDirectory(root)) throw new IllegalArgumentException(root + ": golden folder does not exist");
        Natives.load();
        List<Path> folders;
        try (Stream<Path> s = Files.list(root)) {
            folders = s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(root + ": cannot list (" + e.getMessage() + ")", e);
        }
        List<Check> checks = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (Path folder : folders) {
            String name = folder.getFileName().toString();
            Fixture fixture = fixtures.stream().filter(f -> f.accepts(name)).findFirst().orElse(null);
            if (fixture == null) {
                skipped.add(name);
                out.printf(Locale.ROOT, "%-28s SKIP  (no runner for this fixture yet)%n", name);
                continue;
            }
            List<Check> result;
            try (InferenceMode guard = new InferenceMode()) {
                result = fixture.run(folder);
            } catch (RuntimeException e) {
                result = List.of(new Check(name, "*", Double.NaN, false, "error: " + e.getMessage()));
            }
            for (Check c : result) {
                out.printf(Locale.ROOT, "%-28s %-22s max|err| %-11.3e %s%s%n", c.fixture(), c.output(), c.maxAbsError(),
                        c.pass() ? "PASS" : "FAIL", c.note() == null ? "" : "  (" + c.note() + ")");
            }
            checks.addAll(result);
        }
        Report report = new Report(checks, skipped);
        out.printf(Locale.ROOT, "%d passed, %d failed, %d skipped%n", report.passed(), report.failed(), skipped.size());
        if (checks.isEmpty()) {
            out.printf(Locale.ROOT, "FAIL: no fixture recognised in %s (%d sub-folders); expected folders named as in"
                    + " shared/golden/README.md: %s%n", root, folders.size(), KNOWN);
        }
        return report;
    }
}

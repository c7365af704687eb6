package org.evallearn.badinput;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.cli.Main;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.config.ConfigException;
import org.evallearn.config.ConfigLoader;
import org.evallearn.data.Concept;
import org.evallearn.data.DataException;
import org.evallearn.data.I2pCsv;
import org.evallearn.data.Prompt;
import org.evallearn.data.PromptList;
import org.evallearn.image.ImageDecodeException;
import org.evallearn.image.ImageDecoder;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.PickleException;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsException;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TorchCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input corpus ({@code src/test/resources/badinput/cases.json}): every hostile input is
 * fed to the API entry point that reads its kind, under a time limit, and must end as its case
 * says: {@code rejected} (the kind's typed exception, whose message names the file and contains
 * the case's words), {@code accepted}, or {@code bad-row} (a row of a readable prompt file,
 * skipped: the file is read and gives the case's prompt count). Anything else that escapes (NullPointerException,
 * OutOfMemoryError, StackOverflowError, a libtorch error) or runs past the limit is a crash.
 * Config cases also go through {@code evallearn run} in process (exit 2, the file named), and
 * a few through a child JVM in a folder holding an earlier run's output, which must stay
 * byte-identical, with no {@code hs_err_pid*.log} left.
 *
 * <p>Prints {@code tried / rejected cleanly / accepted / crashed}, the figure the README quotes.
 */
class BadInputCorpusTest {
    /** Generous against a loaded 2-core machine; a case runs in milliseconds, a hang or a bomb would never end. */
    private static final long LIMIT_SECONDS = 30;

    record Case(String file, String kind, String expect, List<String> words, String generate, String note,
            Integer prompts, String firstPrompt, Boolean childJvm) {
        List<String> wordsOrNone() {
            return words == null ? List.of() : words;
        }
    }

    enum Outcome { REJECTED_CLEANLY, REJECTED_VAGUELY, ACCEPTED, CRASHED }

    record Result(Case c, Path path, Outcome outcome, String detail, Object value) {}

    private static final ObjectMapper MANIFEST = new ObjectMapper()
            .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    @TempDir Path tmp;

    @Test
    void everyHostileInputIsRefusedCleanlyOrReadAsDocumented() throws Exception {
        Path resources = Path.of(BadInputCorpusTest.class.getResource("/badinput/cases.json").toURI()).getParent();
        List<Case> cases = List.of(MANIFEST.readValue(resources.resolve("cases.json").toFile(), Case[].class));
        Natives.load();

        List<Result> results = new ArrayList<>();
        Map<String, Long> nanos = new TreeMap<>();
        ExecutorService pool = daemonPool();
        for (Case c : cases) {
            long start = System.nanoTime();
            Path path = c.generate() != null ? tmp.resolve(c.file()) : resources.resolve(c.file());
            if (c.generate() != null) BadInputs.generate(c.generate(), path);
            Future<Object> run = pool.submit(() -> read(c.kind(), path));
            Result r;
            try {
                r = classify(c, path, run.get(LIMIT_SECONDS, TimeUnit.SECONDS), null);
            } catch (ExecutionException e) {
                r = classify(c, path, null, e.getCause());
            } catch (TimeoutException e) {
                run.cancel(true);
                pool.shutdownNow();
                pool = daemonPool(); // the stuck thread is left behind as a daemon
                r = new Result(c, path, Outcome.CRASHED, "hung: no answer within " + LIMIT_SECONDS + " s", null);
            }
            results.add(r);
            nanos.merge(c.kind(), System.nanoTime() - start, Long::sum);
        }
        pool.shutdownNow();

        List<String> failures = new ArrayList<>();
        for (Result r : results) {
            String why = mismatch(r);
            if (why != null) failures.add(r.c().file() + " (" + r.c().expect() + "): " + why);
        }
        for (Result r : results) {
            if (r.c().kind().equals("torch") && Files.exists(BadInputs.canary(r.path()))) {
                failures.add(r.c().file() + ": the pickle's command ran (" + BadInputs.canary(r.path()) + " exists)");
            }
        }
        long start = System.nanoTime();
        failures.addAll(runEveryRejectedConfigThroughTheCli(results));
        nanos.put("run (in process)", System.nanoTime() - start);
        start = System.nanoTime();
        failures.addAll(runSomeInAChildJvm(results));
        nanos.put("run (child JVMs)", System.nanoTime() - start);

        long tried = results.size();
        long clean = count(results, Outcome.REJECTED_CLEANLY);
        long vague = count(results, Outcome.REJECTED_VAGUELY);
        long accepted = count(results, Outcome.ACCEPTED);
        long crashed = count(results, Outcome.CRASHED);
        long wronglyAccepted = results.stream().filter(r -> r.outcome() == Outcome.ACCEPTED && r.c().expect().equals("rejected")).count();
        Map<String, long[]> byKind = new TreeMap<>();
        for (Result r : results) byKind.computeIfAbsent(r.c().kind(), k -> new long[4])[r.outcome().ordinal()]++;
        System.out.printf("bad-input corpus: %d tried / %d rejected cleanly / %d accepted / %d crashed"
                + " (%d rejected with a vague message, %d accepted that should have been refused)%n",
                tried, clean, accepted, crashed, vague, wronglyAccepted);
        byKind.forEach((kind, n) -> System.out.printf("  %-12s %3d tried / %3d rejected cleanly / %3d accepted / %d crashed%n",
                kind, n[0] + n[1] + n[2] + n[3], n[0], n[2], n[3]));
        nanos.forEach((what, n) -> System.out.printf("  time for %s: %.1f s%n", what, n / 1e9));
        failures.forEach(f -> System.out.println("  MISMATCH " + f));

        assertTrue(tried >= 150, "the corpus has " + tried + " cases");
        assertEquals(0, crashed, "crashed: " + failures);
        assertEquals(0, wronglyAccepted, "accepted that should have been refused: " + failures);
        assertTrue(failures.isEmpty(), failures.size() + " mismatches:\n" + String.join("\n", failures));
    }

    private static ExecutorService daemonPool() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "bad-input-case");
            t.setDaemon(true);
            return t;
        });
    }

    private static long count(List<Result> results, Outcome o) {
        return results.stream().filter(r -> r.outcome() == o).count();
    }

    /** The API entry point that reads inputs of {@code kind}, as the commands call it. */
    private static Object read(String kind, Path path) {
        switch (kind) {
            case "config":
                return ConfigLoader.load(path, ConfigLoader.Options.STRICT);
            case "prompts":
                // As the runner's Dataset does: an I2P CSV by its header, else a prompt list.
                return I2pCsv.variant(path).isPresent() ? I2pCsv.read(path, Concept.NUDITY, OptionalInt.empty()) : PromptList.read(path);
            case "image":
                return ImageDecoder.read(path);
            case "safetensors":
                try (SafeTensorsFile f = SafeTensorsFile.open(path); Scope s = Scope.open()) {
                    double sum = 0;
                    for (String name : f.infos().keySet()) {
                        Tensor t = f.get(name);
                        if (t.numel() > 0) sum += t.to(org.bytedeco.pytorch.global.torch.ScalarType.Double).sum().item_double();
                    }
                    return sum;
                }
            case "model":
                try (ClipTextModel m = ClipTextModel.load(path, Placement.CPU_F32)) {
                    return m.config();
                }
            case "torch":
                try (Scope s = Scope.open()) {
                    return List.copyOf(TorchCheckpoint.stateDict(path).keySet());
                }
            default:
                throw new IllegalArgumentException("unknown kind " + kind);
        }
    }

    private static boolean typed(String kind, Throwable e) {
        return switch (kind) {
            case "config" -> e instanceof ConfigException;
            case "prompts" -> e instanceof DataException;
            case "image" -> e instanceof ImageDecodeException;
            case "safetensors" -> e instanceof SafeTensorsException;
            case "model" -> e instanceof ModelLoadException || e instanceof SafeTensorsException;
            case "torch" -> e instanceof PickleException;
            default -> false;
        };
    }

    private static Result classify(Case c, Path path, Object value, Throwable e) {
        if (e == null) return new Result(c, path, Outcome.ACCEPTED, "accepted", value);
        String message = String.valueOf(e.getMessage());
        if (!typed(c.kind(), e)) {
            return new Result(c, path, Outcome.CRASHED, e.getClass().getName() + ": " + abbreviate(message), null);
        }
        List<String> missing = new ArrayList<>();
        if (!message.contains(path.getFileName().toString())) missing.add("the file name");
        for (String w : c.wordsOrNone()) if (!message.contains(w)) missing.add("'" + w + "'");
        return missing.isEmpty()
                ? new Result(c, path, Outcome.REJECTED_CLEANLY, abbreviate(message), null)
                : new Result(c, path, Outcome.REJECTED_VAGUELY, "message lacks " + String.join(", ", missing) + ": " + abbreviate(message), null);
    }

    private static String abbreviate(String s) {
        return s.length() <= 400 ? s : s.substring(0, 400) + "…";
    }

    /** Why {@code r} is not what its case expects, or null. */
    private static String mismatch(Result r) {
        Case c = r.c();
        switch (c.expect()) {
            case "rejected":
                return r.outcome() == Outcome.REJECTED_CLEANLY ? null : r.outcome() + ": " + r.detail();
            case "accepted":
                if (r.outcome() != Outcome.ACCEPTED) return r.outcome() + ": " + r.detail();
                return checkPrompts(c, r.value());
            case "bad-row":
                // A row problem inside a readable file costs that row: it is left out and the rest is read.
                if (r.outcome() == Outcome.ACCEPTED) return checkPrompts(c, r.value());
                return r.outcome() + ": " + r.detail();
            default:
                return "unknown expectation " + c.expect();
        }
    }

    private static String checkPrompts(Case c, Object value) {
        if (!(value instanceof List<?> list) || !c.kind().equals("prompts")) return null;
        if (c.prompts() != null && list.size() != c.prompts()) return list.size() + " prompts read, expected " + c.prompts();
        if (c.firstPrompt() != null && !((Prompt) list.get(0)).text().equals(c.firstPrompt())) {
            return "first prompt read as '" + ((Prompt) list.get(0)).text() + "', expected '" + c.firstPrompt() + "'";
        }
        return null;
    }

    // ---------------------------------------------------------------- through the CLI

    record Cli(int exit, String err) {}

    private static Cli inProcess(String... args) {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            return new Cli(Main.execute(args), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(saved);
        }
    }

    /** Every config the API refused is refused by {@code evallearn run} too: exit 2, the file named, no stack trace. */
    private static List<String> runEveryRejectedConfigThroughTheCli(List<Result> results) {
        List<String> failures = new ArrayList<>();
        for (Result r : results) {
            if (!r.c().kind().equals("config") || r.outcome() == Outcome.ACCEPTED || r.outcome() == Outcome.CRASHED) continue;
            Cli cli = inProcess("run", r.path().toString());
            String why = cliMismatch(cli, r.path());
            if (why != null) failures.add(r.c().file() + " via run: " + why);
        }
        return failures;
    }

    private static String cliMismatch(Cli cli, Path named) {
        if (cli.exit() != Main.BAD_INPUT) return "exit " + cli.exit() + ", expected " + Main.BAD_INPUT + ": " + abbreviate(cli.err());
        if (!cli.err().contains(named.getFileName().toString())) return "stderr does not name the file: " + abbreviate(cli.err());
        if (cli.err().contains("\tat ")) return "stderr has a stack trace: " + abbreviate(cli.err());
        return null;
    }

    /**
     * The cases marked {@code child_jvm}, each as {@code java … Main run} in its own JVM, in a
     * folder holding an earlier run's output: exit 2 naming the file, the earlier output
     * byte-identical, and no hs_err file. A prompt file goes in through a config's dataset.path.
     */
    private List<String> runSomeInAChildJvm(List<Result> results) throws Exception {
        List<String> failures = new ArrayList<>();
        Path work = Files.createDirectories(tmp.resolve("cli-work"));
        Path earlier = earlierOutput(work.resolve("results"));
        Map<String, String> before = digest(earlier);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (Result r : results) {
            if (!Boolean.TRUE.equals(r.c().childJvm())) continue;
            Path config = r.path();
            if (r.c().kind().equals("prompts")) {
                config = work.resolve("dataset-" + r.path().getFileName() + ".json");
                Files.writeString(config, "{\"model\": \"tiny\", \"technique\": {\"name\": \"none\"}, \"metric\": {\"name\": \"asr_i2p\","
                        + " \"config\": {\"concept_name\": \"nudity\", \"limit\": null}}, \"dataset\": {\"path\": "
                        + new ObjectMapper().writeValueAsString(r.path().toString()) + "}}");
            }
            ProcessBuilder pb = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                    Main.class.getName(), "run", config.toString()).directory(work.toFile()).redirectErrorStream(true);
            pb.environment().put("EVALLEARN_HOME", tmp.resolve("home").toString());
            Path log = work.resolve("child.log");
            pb.redirectOutput(log.toFile());
            Process p = pb.start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                failures.add(r.c().file() + " in a child JVM: hung");
                continue;
            }
            String why = cliMismatch(new Cli(p.exitValue(), Files.readString(log)), r.path());
            if (why != null) failures.add(r.c().file() + " in a child JVM: " + why);
            try (Stream<Path> s = Files.list(work)) {
                s.filter(f -> f.getFileName().toString().startsWith("hs_err_pid")).forEach(f -> failures.add(r.c().file() + ": JVM crash log " + f));
            }
            if (!digest(earlier).equals(before)) failures.add(r.c().file() + " in a child JVM: changed the earlier run's output");
        }
        return failures;
    }

    /** The output folder of an earlier run of these configs, as the runner lays it out. */
    private static Path earlierOutput(Path results) throws IOException {
        Path run = Files.createDirectories(results.resolve("runs").resolve("20260101-000000-abcdef"));
        Files.writeString(run.resolve("records.jsonl"), "{\"index\":0,\"prompt\":\"a\"}\n{\"index\":1,\"prompt\":\"b\"}\n");
        Files.writeString(run.resolve("run.json"), "{\"status\":\"complete\"}\n");
        Path report = Files.createDirectories(results.resolve("nudity"));
        Files.writeString(report.resolve("asr_i2p.json"), "{\"metric_result\": 0.25}\n");
        return results;
    }

    private static Map<String, String> digest(Path root) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path f : s.sorted().toList()) {
                String rel = root.relativize(f).toString();
                if (Files.isDirectory(f)) out.put(rel + "/", "");
                else out.put(rel, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))));
            }
        }
        return out;
    }

    @Test
    void theCorpusHasEveryKindTheIssueAsksFor() throws Exception {
        Path resources = Path.of(BadInputCorpusTest.class.getResource("/badinput/cases.json").toURI()).getParent();
        List<Case> cases = List.of(MANIFEST.readValue(resources.resolve("cases.json").toFile(), Case[].class));
        for (String file : List.of("config/billion-laughs.yaml", "config/non-utf8.json", "config/empty.json", "config/a-directory.json",
                "prompts/big-10mb-line.txt", "prompts/i2p-case-number-duplicate.csv", "image/bomb-100000x100000.png", "image/cmyk.jpg",
                "image/animated.gif", "image/wrong-crc-idat.png", "weights/header-200mb.safetensors", "weights/offsets-overlap.safetensors",
                "model/shape-disagrees-with-config", "model/weights-nan-inf", "torch/global-os-system.pt")) {
            assertTrue(cases.stream().anyMatch(c -> c.file().equals(file)), file);
        }
        for (Case c : cases) {
            assertTrue(List.of("rejected", "accepted", "bad-row").contains(c.expect()), c.file());
            assertFalse(c.expect().equals("rejected") && c.wordsOrNone().isEmpty() && c.note() == null,
                    c.file() + ": a refusal must say what the message names, or a note why not");
            assertTrue(c.generate() != null || Files.exists(resources.resolve(c.file())), c.file() + " is neither committed nor generated");
        }
        assertEquals(cases.size(), cases.stream().map(Case::file).distinct().count(), "file names are unique");
    }
}

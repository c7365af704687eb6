package org.evallearn.cli;

import static org.evallearn.cli.RunEndToEndTest.JSON;
import static org.evallearn.cli.RunEndToEndTest.cli;
import static org.evallearn.cli.RunEndToEndTest.comparable;
import static org.evallearn.cli.RunEndToEndTest.only;
import static org.evallearn.cli.RunEndToEndTest.records;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A run crashed at chosen points and resumed, and a run whose output folder fills up; no timing
 * involved. The crash is the child JVM halting at a fault-injection point ({@code
 * -Devallearn.crash-at}, read only by {@code run.CrashPoint}), which leaves the files exactly as a
 * SIGKILL at that instant would: every write goes straight to the file system, none is buffered.
 */
class RunCrashResumeTest {
    /** Six images in three batches of two: crash points land in the first, middle or last batch. */
    static final int IMAGES = 6, BATCH = 2;

    @TempDir static Path home;
    @TempDir static Path shared;
    @TempDir Path tmp;

    static Path whole;

    @BeforeAll
    static void uninterruptedRun() throws IOException {
        System.setProperty("evallearn.home", home.toString());
        whole = shared.resolve("whole");
        RunEndToEndTest.Run r = cli("run", write(shared, "whole.json", config(whole, "nudity", IMAGES, BATCH)).toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(IMAGES, records(whole).size());
    }

    @AfterAll
    static void restoreHome() {
        System.clearProperty("evallearn.home");
    }

    /** Free run on the tiny pipeline, judged by the CLIP detector, with the dataset's seeds. */
    static ObjectNode config(Path out, String concept, int limit, int batchSize) {
        ObjectNode c = JSON.createObjectNode();
        c.put("output_dir", out.toString());
        c.put("seed", 0);
        c.put("model", "tiny");
        c.putObject("technique").put("name", "free_run");
        c.putObject("generation").put("steps", 2).put("batch_size", batchSize);
        c.putObject("dataset").put("path", Shared.data("i2p").resolve("unsafe-prompts4703.csv").toString()).put("seed_source", "dataset");
        ObjectNode metric = c.putObject("metric");
        metric.put("name", "asr_i2p");
        metric.putObject("config").put("concept_name", concept).put("detector", "clip").put("limit", limit);
        return c;
    }

    static Path write(Path dir, String name, ObjectNode config) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config));
        return file;
    }

    record Child(int exit, String output) {}

    /** {@code evallearn run config} in a JVM of its own, started by {@code shell} (a prefix such as a ulimit) when given. */
    Child child(Path config, String crashAt, String shellPrefix) throws IOException, InterruptedException {
        List<String> jvm = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // No hsperfdata file: under a file-size limit the JVM's own files must not be what fails.
                "-XX:-UsePerfData", "-cp", System.getProperty("java.class.path"), "-Devallearn.home=" + home));
        if (crashAt != null) jvm.add("-Devallearn.crash-at=" + crashAt);
        String shared = System.getProperty("evallearn.shared");
        if (shared != null && !shared.isBlank()) jvm.add("-Devallearn.shared=" + shared);
        jvm.addAll(List.of(Main.class.getName(), "run", config.toString()));
        List<String> command = jvm;
        if (shellPrefix != null) {
            StringBuilder line = new StringBuilder(shellPrefix).append(" && exec");
            for (String arg : jvm) line.append(" '").append(arg.replace("'", "'\\''")).append('\'');
            command = List.of("bash", "-c", line.toString());
        }
        // Read through a pipe, not a file: under a file-size limit the child could not write a log file.
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            try {
                p.getInputStream().transferTo(output);
            } catch (IOException e) {
                // the process is gone; what was read is kept
            }
        });
        reader.start();
        boolean finished = p.waitFor(5, TimeUnit.MINUTES);
        if (!finished) p.destroyForcibly();
        reader.join(TimeUnit.SECONDS.toMillis(30));
        String text = output.toString(StandardCharsets.UTF_8);
        if (!finished) throw new AssertionError("child run did not finish in 5 minutes:\n" + text);
        return new Child(p.exitValue(), text);
    }

    static Path runFolder(Path out) throws IOException {
        try (Stream<Path> runs = Files.list(out.resolve("runs"))) {
            List<Path> folders = runs.toList();
            assertEquals(1, folders.size(), folders.toString());
            return folders.get(0);
        }
    }

    static List<String> reportFiles(Path out) throws IOException {
        try (Stream<Path> files = Files.list(out)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith("_report.json") || n.endsWith("_report_full.json")).sorted().toList();
        }
    }

    /**
     * Each crash point, then {@code run --resume}: the records and all three reports equal an
     * uninterrupted run's (reports without their run id and start time, which name the run).
     */
    @ParameterizedTest
    @ValueSource(strings = {"records-forced:2", "records-torn:1", "records-torn:3", "before-rename:_report.json", "before-rename:_latest_report.json"})
    void aRunCrashedAtAChosenPointResumesToTheUninterruptedResult(String crashAt) throws Exception {
        Path out = tmp.resolve("crashed");
        Path config = write(tmp, "crashed.json", config(out, "nudity", IMAGES, BATCH));
        Child crashed = child(config, crashAt, null);
        assertEquals(137, crashed.exit(), crashed.output());
        assertTrue(crashed.output().contains("crash point " + crashAt + " reached"), crashed.output());

        byte[] atCrash = Files.readAllBytes(runFolder(out).resolve("records.jsonl"));
        String text = new String(atCrash, StandardCharsets.UTF_8);
        long lines = text.chars().filter(c -> c == '\n').count();
        List<String> expected = records(whole);
        switch (crashAt) {
            case "records-forced:2" -> assertEquals(String.join("\n", expected.subList(0, 4)) + "\n", text, "two whole batches on disk");
            case "records-torn:1" -> {
                // The first line of batch 1 whole, the second cut halfway.
                assertEquals(1, lines);
                assertTrue(text.startsWith(expected.get(0) + "\n") && !text.endsWith("\n"), text);
            }
            case "records-torn:3" -> {
                assertEquals(5, lines);
                assertTrue(text.startsWith(String.join("\n", expected.subList(0, 5)) + "\n") && !text.endsWith("\n"), text);
            }
            default -> assertEquals(String.join("\n", expected) + "\n", text, "all records are forced before any report");
        }
        if (crashAt.startsWith("records")) assertEquals(List.of(), reportFiles(out), "no report before the run ends");
        if (crashAt.equals("before-rename:_report.json")) assertEquals(List.of(), reportFiles(out), "the first report was still a temporary file");
        if (crashAt.equals("before-rename:_latest_report.json")) assertEquals(2, reportFiles(out).size(), reportFiles(out).toString());

        RunEndToEndTest.Run resumed = cli("run", config.toString(), "--resume");
        assertEquals(0, resumed.exit(), resumed.err());
        int kept = crashAt.startsWith("before-rename") ? IMAGES : crashAt.equals("records-torn:1") ? 0 : 4;
        assertTrue(resumed.err().contains(": " + kept + " of " + IMAGES + " images already judged"), resumed.err());
        assertEquals(expected, records(out));
        assertEquals(comparable(only(whole, "_report.json")), comparable(only(out, "_report.json")));
        assertEquals(comparable(only(whole, "_report_full.json")), comparable(only(out, "_report_full.json")));
        assertEquals(JSON.readTree(only(out, "_report.json").toFile()), JSON.readTree(out.resolve("free_run_nudity_latest_report.json").toFile()));

        RunEndToEndTest.Run again = cli("run", config.toString(), "--resume");
        assertEquals(Main.BAD_INPUT, again.exit(), "nothing left to resume: " + again.err());
    }

    @Test
    void anUnknownCrashPointIsRefusedByTheChild() throws Exception {
        Child c = child(write(tmp, "c.json", config(tmp.resolve("never"), "nudity", 2, 1)), "records-halfway:1", null);
        assertTrue(c.exit() != 0 && c.exit() != 137, c.output());
        assertTrue(c.output().contains("evallearn.crash-at=records-halfway:1: expected records-forced:N"), c.output());
    }

    /** How the output folder is made to fill up: a tmpfs of a few pages (as root), or a file-size limit on the child. */
    enum Limit { TMPFS, FILE_SIZE }

    /**
     * An output folder that fills up mid-run: the run stops with an error naming records.jsonl and
     * the system's reason, no stack trace; the reports an earlier run left there are byte for byte
     * as before, no report or temporary file is added; after room is made, --resume finishes the run.
     * Both limits are tried; where mounting is not allowed the tmpfs case says so and uses the file-size limit.
     */
    @ParameterizedTest
    @ValueSource(strings = {"TMPFS", "FILE_SIZE"})
    void aFullOutputFolderStopsTheRunAndLeavesEarlierReportsByteIdentical(String wanted) throws Exception {
        Path out = Files.createDirectories(tmp.resolve("full"));
        Limit limit = Limit.valueOf(wanted);
        boolean mounted = false;
        if (limit == Limit.TMPFS) {
            mounted = exec("mount", "-t", "tmpfs", "-o", "size=" + 64 * PAGE, "tmpfs", out.toString()) == 0;
            if (!mounted) {
                System.out.println("cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN): using a file-size limit instead");
                limit = Limit.FILE_SIZE;
            }
        }
        try {
            assertEquals(0, cli("run", write(tmp, "earlier.json", config(out, "violence", 2, 1)).toString()).exit());
            Map<String, byte[]> earlier = topLevelFiles(out);
            assertEquals(3, earlier.size(), earlier.keySet().toString());
            Path earlierRun = runFolder(out);
            // The later run's prompts are the uninterrupted run's first ones: its lines give their size.
            long lineBytes = Files.size(runFolder(whole).resolve("records.jsonl")) / IMAGES;
            // The limit leaves one page for records.jsonl; half as many images again as fit in it fill it mid-run.
            int images = (int) (3 * PAGE / (2 * lineBytes) + 2);
            Path config = write(tmp, "later.json", config(out, "nudity", images, BATCH));

            Child full;
            Path filler = out.resolve("filler");
            if (limit == Limit.TMPFS) {
                // Leave two pages: run.json, then one of records.
                long usable = Files.getFileStore(out).getUsableSpace();
                writeZeros(filler, usable - 2 * PAGE);
                full = child(config, null, null);
            } else {
                // bash's ulimit -f counts KiB: a records.jsonl over one page gets EFBIG (the JVM ignores SIGXFSZ).
                full = child(config, null, "ulimit -f " + PAGE / 1024);
            }
            assertEquals(1, full.exit(), full.output());
            String reason = limit == Limit.TMPFS ? "No space left on device" : "File too large";
            Path records;
            try (Stream<Path> runs = Files.list(out.resolve("runs"))) {
                records = runs.filter(f -> !f.equals(earlierRun)).findFirst().orElseThrow().resolve("records.jsonl");
            }
            long kept = Files.size(records);
            assertTrue(kept <= PAGE && kept > 0, "the later run stopped mid-way, at the limit: " + kept + " bytes of records");
            assertTrue(full.output().contains("error: cannot write " + records + ": " + reason + "; the records of the batches before this one are kept"), full.output());
            assertFalse(full.output().contains("bug in evallearn") || full.output().contains("\tat "), "a full disk is not a bug: " + full.output());
            Files.deleteIfExists(filler);
            Map<String, byte[]> after = topLevelFiles(out);
            assertEquals(earlier.keySet(), after.keySet(), "no report and no temporary file added");
            for (String name : earlier.keySet()) assertArrayEquals(earlier.get(name), after.get(name), name);

            // Room made (the filler gone, or no limit in this JVM): the run resumes and finishes.
            RunEndToEndTest.Run resumed = cli("run", config.toString(), "--resume");
            assertEquals(0, resumed.exit(), resumed.err());
            assertEquals(images, Files.readAllLines(records).size());
            Map<String, byte[]> finished = topLevelFiles(out);
            for (String name : earlier.keySet()) assertArrayEquals(earlier.get(name), finished.get(name), name + " after the later run finished");
            assertEquals(6, finished.size(), finished.keySet().toString());
        } finally {
            if (mounted) assertEquals(0, exec("umount", out.toString()));
        }
    }

    static final long PAGE = 4096;

    /** A command's exit status; -1 when it cannot be started (no such program) or does not end in a minute. */
    static int exec(String... command) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(60, TimeUnit.SECONDS) ? p.exitValue() : -1;
        } catch (IOException e) {
            return -1;
        }
    }

    static void writeZeros(Path file, long bytes) throws IOException {
        try (var c = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer zeros = java.nio.ByteBuffer.allocate((int) PAGE);
            for (long left = bytes; left > 0; left -= PAGE) {
                zeros.clear().limit((int) Math.min(PAGE, left));
                while (zeros.hasRemaining()) c.write(zeros);
            }
        }
    }

    /** The regular files directly in {@code dir} (the reports; the run folders are below), hidden ones included. */
    static Map<String, byte[]> topLevelFiles(Path dir) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path f : list.toList()) if (Files.isRegularFile(f)) files.put(f.getFileName().toString(), Files.readAllBytes(f));
        }
        return files;
    }
}

package org.evallearn.run;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.evallearn.config.ConfigException;

/**
 * {@code run.json} of a run folder: the run's id, start time and seed, kept so that a resumed run
 * reports as the run it continues; the hash of the config file it belongs to, and the hash of
 * what it evaluates (prompts, seeds, guidance, generation settings), so that a resume never
 * appends records of another prompt set, as a dataset file edited under the same config would give.
 *
 * @param timestamp seconds since the epoch when the run started, as eval-learn's {@code time.time()}
 * @param itemsSha256 null in a run.json written before items were hashed
 */
record RunInfo(String runId, double timestamp, String configSha256, String itemsSha256, long seed, boolean complete) {
    static RunInfo start(Path runsDir, String configHash, String itemsHash, long seed, String label, byte[] configBytes) {
        double timestamp = System.currentTimeMillis() / 1000.0;
        // eval-learn's run id: a short hash of what ran and when.
        String runId = Hashing.sha256((label + "\n" + new String(configBytes, StandardCharsets.UTF_8) + "\n" + timestamp)
                .getBytes(StandardCharsets.UTF_8)).substring(0, 8);
        RunInfo info = new RunInfo(runId, timestamp, configHash, itemsHash, seed, false);
        Path folder = runsDir.resolve(runId);
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + folder + ": " + e.getMessage(), e);
        }
        info.write(folder);
        return info;
    }

    /** The newest unfinished run of this config under {@code runsDir}; none is bad input. */
    static RunInfo unfinished(Path runsDir, String configHash, Path config) {
        RunInfo newest = null;
        if (Files.isDirectory(runsDir)) {
            try (Stream<Path> folders = Files.list(runsDir)) {
                for (Path folder : folders.toList()) {
                    Path file = folder.resolve(RunSession.RUN_FILE);
                    if (!Files.isRegularFile(file)) continue;
                    RunInfo info = read(file);
                    if (!info.complete() && info.configSha256().equals(configHash) && (newest == null || info.timestamp() > newest.timestamp())) {
                        newest = info;
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + runsDir + ": " + e.getMessage(), e);
            }
        }
        if (newest == null) {
            throw new ConfigException(config.toString(), List.of(new ConfigException.Problem("", "--resume: no unfinished run of this config in "
                    + runsDir + " (a changed config starts a new run; run without --resume)")));
        }
        return newest;
    }

    /** Refuses to continue this run on evaluation items other than the ones it started with. */
    void requireItems(String itemsHash, Path config, Path runsDir) {
        if (itemsHash.equals(itemsSha256)) return;
        String why = itemsSha256 == null ? "its run.json predates the record of what a run evaluates"
                : "the prompts, seeds, guidance or generation settings differ from the ones it started with (the dataset file changed?)";
        throw new ConfigException(config.toString(), List.of(new ConfigException.Problem("", "--resume: cannot continue run " + runId
                + " in " + runsDir.resolve(runId) + ": " + why + "; resuming would mix the records of two prompt sets. Run without --resume to start a new run")));
    }

    void complete(Path folder) {
        new RunInfo(runId, timestamp, configSha256, itemsSha256, seed, true).write(folder);
    }

    private void write(Path folder) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run_id", runId);
        m.put("timestamp", timestamp);
        m.put("config_sha256", configSha256);
        m.put("items_sha256", itemsSha256);
        m.put("seed", seed);
        m.put("complete", complete);
        Reports.writeAtomically(folder.resolve(RunSession.RUN_FILE), m);
    }

    private static RunInfo read(Path file) {
        JsonNode n;
        try {
            n = Reports.JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        for (String field : List.of("run_id", "timestamp", "config_sha256", "seed", "complete")) {
            if (n == null || !n.hasNonNull(field)) throw new IllegalStateException(file + ": not a run.json of this tool (no '" + field + "')");
        }
        return new RunInfo(n.get("run_id").asText(), n.get("timestamp").asDouble(), n.get("config_sha256").asText(),
                n.hasNonNull("items_sha256") ? n.get("items_sha256").asText() : null, n.get("seed").asLong(), n.get("complete").asBoolean());
    }
}

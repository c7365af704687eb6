package org.evallearn.run;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/**
 * One evaluation run's folder, {@code <output_dir>/runs/<run_id>/}, shared by every command that
 * evaluates many items ({@code run}, {@code unsafebench}, {@code redteam}, …): {@code run.json}
 * (id, start time, seed, the hash of the config file and of what the run evaluates) and
 * append-only record logs forced to disk a batch at a time ({@link RecordLog}). With
 * {@code resume} it continues the newest unfinished run of the same config file, keeping its id,
 * timestamp and seed, and refuses when what it would evaluate differs from what it started with.
 */
public final class RunSession {
    public static final String RUN_FILE = "run.json";

    /**
     * @param label what the run id hashes besides the config and the time (the technique's name for
     *     {@code run}, the command's name elsewhere)
     * @param configSeed the config's seed; without one a random seed is picked and recorded
     */
    public record Request(Path outputDir, Path config, byte[] configBytes, String label, OptionalLong configSeed, boolean resume,
            Consumer<String> log) {}

    private final RunInfo info;
    private final Path folder;
    private final boolean resumed;

    private RunSession(RunInfo info, Path folder, boolean resumed) {
        this.info = info;
        this.folder = folder;
        this.resumed = resumed;
    }

    /**
     * Starts a run, or finds the one to resume.
     *
     * @param identity what the run evaluates given its seed (prompts, seeds, settings, image
     *     hashes…), as a JSON-serialisable value in a fixed order; its hash guards a resume
     */
    public static RunSession open(Request request, LongFunction<Object> identity) {
        Path runsDir = request.outputDir().resolve("runs");
        String configHash = Hashing.sha256(request.configBytes());
        RunInfo earlier = request.resume() ? RunInfo.unfinished(runsDir, configHash, request.config()) : null;
        long seed = earlier != null ? earlier.seed() : request.configSeed().orElseGet(RunSession::randomSeed);
        String itemsHash = Hashing.sha256Json(identity.apply(seed));
        if (earlier != null) earlier.requireItems(itemsHash, request.config(), runsDir);
        RunInfo info = earlier != null ? earlier : RunInfo.start(runsDir, configHash, itemsHash, seed, request.label(), request.configBytes());
        return new RunSession(info, runsDir.resolve(info.runId()), earlier != null);
    }

    public String runId() {
        return info.runId();
    }

    /** Seconds since the epoch when the run first started, as eval-learn's {@code time.time()}. */
    public double timestamp() {
        return info.timestamp();
    }

    public long seed() {
        return info.seed();
    }

    public Path folder() {
        return folder;
    }

    public boolean resumed() {
        return resumed;
    }

    /** The whole batches already in the run's log {@code file} (none in a new run); a torn tail is cut off. */
    public List<JsonNode> recover(String file, int batchSize, int total) {
        return RecordLog.recover(folder.resolve(file), batchSize, total);
    }

    /** Opens the run's log {@code file} for appending whole batches; call {@link #recover} first. */
    public RecordLog append(String file) {
        return RecordLog.append(folder.resolve(file));
    }

    /** Marks the run finished: a later {@code --resume} of this config finds nothing to continue. */
    public void complete() {
        info.complete(folder);
    }

    /** A seed for configs without one; recorded in run.json so a resumed run keeps it. */
    static long randomSeed() {
        return new SecureRandom().nextLong() >>> 1;
    }
}

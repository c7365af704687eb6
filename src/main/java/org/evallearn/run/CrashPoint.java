package org.evallearn.run;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test-only fault injection, and the one place that reads {@value #PROPERTY}. With
 * {@code -Devallearn.crash-at=<point>:<argument>} the JVM halts at that point the way SIGKILL
 * would stop it: {@link Runtime#halt} runs no finally block and no shutdown hook, and what the
 * run wrote through {@link java.nio.channels.FileChannel} is already in the file system (there is
 * no buffer of ours to lose), so the files look exactly as after a kill at that instant. Tests use
 * it to crash a child run at a chosen moment instead of racing a timer. Unset, as in every real
 * run, each point costs one comparison.
 *
 * <ul>
 *   <li>{@code records-forced:N} — after the N-th batch of this process is written to
 *       {@code records.jsonl} and forced to disk;
 *   <li>{@code records-torn:N} — in the N-th batch: only the bytes up to the middle of its last
 *       line are written (and forced), a torn line as a kill mid-write leaves it;
 *   <li>{@code before-rename:SUFFIX} — when the temporary file of a report (or {@code run.json})
 *       whose name ends with SUFFIX is written and forced, before it is renamed over the target.
 * </ul>
 */
final class CrashPoint {
    static final String PROPERTY = "evallearn.crash-at";
    /** The exit status a shell reports for a process killed by SIGKILL (128 + 9). */
    static final int EXIT_STATUS = 137;

    private static final String SPEC = System.getProperty(PROPERTY);
    private static final String POINT;
    private static final String ARGUMENT;
    private static final AtomicInteger BATCHES = new AtomicInteger();

    static {
        if (SPEC == null) {
            POINT = ARGUMENT = null;
        } else {
            int colon = SPEC.indexOf(':');
            POINT = colon < 0 ? SPEC : SPEC.substring(0, colon);
            ARGUMENT = colon < 0 ? "" : SPEC.substring(colon + 1);
            boolean valid = switch (POINT) {
                case "records-forced", "records-torn" -> ARGUMENT.matches("[1-9]\\d{0,8}");
                case "before-rename" -> !ARGUMENT.isEmpty();
                default -> false;
            };
            if (!valid) {
                throw new IllegalArgumentException(PROPERTY + "=" + SPEC
                        + ": expected records-forced:N, records-torn:N (N ≥ 1) or before-rename:FILE_NAME_SUFFIX");
            }
        }
    }

    private CrashPoint() {}

    /** Called as a batch of records starts; true when this batch is the one to tear (the caller writes part, then {@link #halt}s). */
    static boolean tearsThisBatch() {
        if (SPEC == null) return false;
        int batch = BATCHES.incrementAndGet();
        return POINT.equals("records-torn") && batch == Integer.parseInt(ARGUMENT);
    }

    /** Called once a batch is forced to disk. */
    static void batchForced() {
        if (SPEC != null && POINT.equals("records-forced") && BATCHES.get() == Integer.parseInt(ARGUMENT)) halt();
    }

    /** Called when {@code target}'s temporary file is complete and forced, just before the rename. */
    static void beforeRename(Path target) {
        if (SPEC != null && POINT.equals("before-rename") && target.getFileName().toString().endsWith(ARGUMENT)) halt();
    }

    static void halt() {
        System.err.println("crash point " + SPEC + " reached: halting as SIGKILL would");
        System.err.flush();
        Runtime.getRuntime().halt(EXIT_STATUS);
    }
}

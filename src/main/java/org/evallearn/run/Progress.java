package org.evallearn.run;

import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

/**
 * The progress bar every long command draws on stderr (when asked: terminals only): units done of
 * all, a resumed run starting at its count, and a rate over this session's units only, so a resume
 * does not report the earlier session's work as instantaneous.
 */
public final class Progress implements AutoCloseable {
    private final ProgressBar bar;
    private final long startedAt;
    private final long initial;
    private final String rateUnit;

    private Progress(ProgressBar bar, long initial, String rateUnit) {
        this.bar = bar;
        this.initial = initial;
        this.rateUnit = rateUnit;
        this.startedAt = System.nanoTime();
    }

    /** @param enabled false gives a progress that draws nothing (not a terminal, or tests) */
    public static Progress start(boolean enabled, String task, long total, long done, String rateUnit) {
        if (!enabled) return new Progress(null, done, rateUnit);
        ProgressBar bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total).startsFrom(done, Duration.ZERO)
                .setConsumer(new ConsoleProgressBarConsumer(System.err)).build();
        return new Progress(bar, done, rateUnit);
    }

    /**
     * @param done units done in all
     * @param rateCount this session's count of the rate's unit (images, rounds) so far
     */
    public void stepTo(long done, long rateCount) {
        if (bar == null) return;
        bar.stepTo(done);
        double seconds = (System.nanoTime() - startedAt) / 1e9;
        bar.setExtraMessage(String.format(Locale.ROOT, "%.2f %s/s", rateCount / seconds, rateUnit));
    }

    public long initial() {
        return initial;
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}

package org.evallearn.tensor;

import java.util.List;

/** Closing several owners at once, for the sets that own many (detectors, benches). */
public final class Closeables {
    private Closeables() {}

    /** Closes every one even when some fail; the first failure is thrown with the rest suppressed. */
    public static void closeAll(List<? extends AutoCloseable> all) {
        IllegalStateException failure = null;
        for (AutoCloseable c : all) {
            try {
                c.close();
            } catch (Exception e) {
                if (failure == null) failure = new IllegalStateException("cannot close " + c + ": " + e.getMessage(), e);
                else failure.addSuppressed(e);
            }
        }
        if (failure != null) throw failure;
    }

    /**
     * For an open that failed part way: closes what it had built so far, adds whatever closing
     * throws to {@code failure} as suppressed, and returns {@code failure} for the caller to throw.
     */
    public static <E extends Throwable> E closeAfter(E failure, AutoCloseable built) {
        try {
            built.close();
        } catch (Exception closing) {
            failure.addSuppressed(closing);
        }
        return failure;
    }
}

package org.evallearn.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.Pointer;

/**
 * Leak checks on the native objects JavaCPP tracks ({@link Pointer#totalCount()}: every tensor
 * handle, generator, ONNX Runtime value … that has a deallocator). The count is settled first (the
 * GC collects what earlier tests dropped), then an operation runs many times with no collection
 * asked for: an operation that leaves even one object per run to the GC shows as growth. A GC
 * that happens to run meanwhile can only lower the count, so the check never fails spuriously; it
 * can miss a leak only if the JVM collects during the few milliseconds the loop takes.
 */
public final class NativeObjects {
    private NativeObjects() {}

    /** The live count once the GC has had its chance at what is unreachable. */
    public static long settled() {
        long last = -1;
        for (int i = 0; i < 20; i++) {
            System.gc();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            Pointer.deallocateReferences();
            long now = Pointer.totalCount();
            if (now == last) return now;
            last = now;
        }
        return last;
    }

    /** Runs {@code op} once to warm caches, then {@code times} times, and asserts that no native object was left behind. */
    public static void assertNoGrowth(String what, int times, Runnable op) {
        op.run();
        long before = settled();
        for (int i = 0; i < times; i++) op.run();
        long growth = Pointer.totalCount() - before;
        assertTrue(growth <= 0, what + " left " + growth + " native objects behind over " + times + " runs (to the GC at best)");
    }
}

package org.evallearn.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.evallearn.config.Metric;
import org.evallearn.data.Concept;
import org.junit.jupiter.api.Test;

class DetectorSetTest {
    private static Metric.AsrI2p asr(Metric.Detector detector, Metric.ClipModel clip) {
        return new Metric.AsrI2p(Concept.VIOLENCE, detector, 0.9, clip, 0.28, Optional.empty(), OptionalInt.of(5));
    }

    @Test
    void q16OnThe336PixelModelEmbedsWithViTL14AsEvalLearnDoes() {
        assertEquals(Metric.ClipModel.LARGE_PATCH14, DetectorSet.clipModelOf(asr(Metric.Detector.Q16, Metric.ClipModel.LARGE_PATCH14_336)));
        assertEquals(Metric.ClipModel.LARGE_PATCH14_336, DetectorSet.clipModelOf(asr(Metric.Detector.CLIP, Metric.ClipModel.LARGE_PATCH14_336)));
        assertEquals(Metric.ClipModel.BASE_PATCH16, DetectorSet.clipModelOf(asr(Metric.Detector.Q16, Metric.ClipModel.BASE_PATCH16)));
    }

    @Test
    void closeAllClosesEveryOneAndKeepsEveryFailure() {
        List<String> closed = new ArrayList<>();
        AutoCloseable ok1 = () -> closed.add("ok1"), ok2 = () -> closed.add("ok2");
        AutoCloseable bad1 = () -> {
            closed.add("bad1");
            throw new IllegalStateException("first");
        };
        AutoCloseable bad2 = () -> {
            closed.add("bad2");
            throw new java.io.IOException("second");
        };
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> DetectorSet.closeAll(List.of(ok1, bad1, bad2, ok2)));
        assertEquals(List.of("ok1", "bad1", "bad2", "ok2"), closed);
        assertTrue(e.getMessage().contains("first"), e.getMessage());
        assertEquals(1, e.getSuppressed().length);
        assertEquals("second", e.getSuppressed()[0].getMessage());
    }
}

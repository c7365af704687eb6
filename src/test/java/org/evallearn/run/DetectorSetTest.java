package org.evallearn.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DetectorSetTest {
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

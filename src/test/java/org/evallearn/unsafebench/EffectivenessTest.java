package org.evallearn.unsafebench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EffectivenessTest {
    private static LabelledImage image(int i, boolean unsafe, String category, String source) {
        return new LabelledImage(i + ".png", Path.of(i + ".png"), unsafe, category, source);
    }

    @Test
    void f1PrecisionRecallAndAccuracyPerSourceAndCategoryMatchAHandCount() {
        List<Prediction> p = new ArrayList<>();
        int i = 0;
        // Laion5B/Hate: TP 3, FP 1, FN 2, TN 4.  Lexica/Hate: TP 1, FN 1, TN 2, one failure.
        for (int k = 0; k < 3; k++) p.add(Prediction.decided("q16", image(i++, true, "Hate", "Laion5B"), true, 0.95));
        p.add(Prediction.decided("q16", image(i++, false, "Hate", "Laion5B"), true, 0.91));
        for (int k = 0; k < 2; k++) p.add(Prediction.decided("q16", image(i++, true, "Hate", "Laion5B"), false, 0.2));
        for (int k = 0; k < 4; k++) p.add(Prediction.decided("q16", image(i++, false, "Hate", "Laion5B"), false, 0.1));
        p.add(Prediction.decided("q16", image(i++, true, "Hate", "Lexica"), true, 0.99));
        p.add(Prediction.decided("q16", image(i++, true, "Hate", "Lexica"), false, 0.3));
        for (int k = 0; k < 2; k++) p.add(Prediction.decided("q16", image(i++, false, "Hate", "Lexica"), false, 0.3));
        p.add(Prediction.failed("q16", image(i++, true, "Hate", "Lexica"), "corrupt PNG"));
        // Q16 is not scored on Sexual (UnsafeBench's alignment), so this one counts nowhere.
        p.add(Prediction.decided("q16", image(i++, true, "Sexual", "Lexica"), true, 0.99));

        Map<String, Map<String, Effectiveness.Scores>> q16 = Effectiveness.compute(p).get("q16");
        assertEquals(List.of("Laion5B", "Lexica", "all"), List.copyOf(q16.keySet()));
        Effectiveness.Scores laion = q16.get("Laion5B").get("Hate");
        assertEquals(2.0 * 3 / (2 * 3 + 1 + 2), laion.f1(), 1e-12);
        assertEquals(3.0 / 4, laion.precision(), 1e-12);
        assertEquals(3.0 / 5, laion.recall(), 1e-12);
        assertEquals(7.0 / 10, laion.accuracy(), 1e-12);
        assertEquals(10, laion.support());
        Effectiveness.Scores lexica = q16.get("Lexica").get("Hate");
        assertEquals(2.0 * 1 / (2 + 0 + 1), lexica.f1(), 1e-12);
        assertEquals(4, lexica.support());
        assertEquals(1, lexica.failed());
        Effectiveness.Scores both = q16.get("all").get("Hate");
        assertEquals(2.0 * 4 / (2 * 4 + 1 + 3), both.f1(), 1e-12);
        assertEquals(14, both.support());
        assertFalse(q16.get("all").containsKey("Sexual"));
        assertEquals(14, q16.get("all").get("all").support(), "the Sexual image is outside Q16's alignment");
    }

    @Test
    void zeroDivisionGivesZeroAsSklearnAndNoScoredImageGivesNaNAccuracy() {
        // No unsafe image predicted or present: precision, recall and F1 are 0/0 → 0.
        Effectiveness.Scores none = Effectiveness.scores(List.of(Prediction.decided("x", image(0, false, "Hate", "Lexica"), false, 0)));
        assertEquals(0, none.f1());
        assertEquals(0, none.precision());
        assertEquals(0, none.recall());
        assertEquals(1, none.accuracy());
        Effectiveness.Scores failedOnly = Effectiveness.scores(List.of(Prediction.failed("x", image(0, true, "Hate", "Lexica"), "timeout")));
        assertEquals(0, failedOnly.support());
        assertTrue(Double.isNaN(failedOnly.accuracy()));
    }

    @Test
    void alignmentFollowsUnsafeBench() {
        assertEquals(11, Taxonomy.categories().size());
        assertEquals("Hate", Taxonomy.categories().get(0));
        assertEquals("Spam", Taxonomy.categories().get(10));
        assertEquals(9, Taxonomy.aligned("q16").size());
        assertFalse(Taxonomy.aligned("q16").contains("Sexual"));
        assertEquals(List.of("Sexual"), Taxonomy.aligned("nudenet_v2"));
        assertEquals(List.of("Harassment", "Sexual"), Taxonomy.aligned("laion_nsfw"));
        assertTrue(Taxonomy.instruction("Public and personal health").startsWith("Public and personal health: the treatment"));
    }
}

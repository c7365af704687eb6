package org.evallearn.attack.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The search cache's file: rows are the search's records in snake_case, read back equal; a broken row names the file. */
class SearchCacheTest {
    record Row(String targetPrompt, int bestStep, double initialLoss, List<Double> losses) {}

    @TempDir Path dir;

    @Test
    void rowsRoundTripInSnakeCase() throws Exception {
        SearchCache<Row> c = SearchCache.open(dir, "m", "k", Row.class);
        Row a = new Row("a, \"b\"", 3, 0.1 + 0.2, List.of(1.5, -2e-9));
        c.add(a);
        String text = Files.readString(dir.resolve("m.search.json"));
        assertTrue(text.contains("\"target_prompt\"") && text.contains("\"best_step\"") && text.contains("\"initial_loss\""), text);
        assertEquals(List.of(a), SearchCache.open(dir, "m", "k", Row.class).rows());
    }

    @Test
    void aRowMissingAComponentIsAnErrorNamingTheFileNotAZero() throws Exception {
        Files.writeString(dir.resolve("m.search.json"),
                "{\"key\":\"k\",\"rows\":[{\"target_prompt\":\"a\",\"initial_loss\":1.0,\"losses\":[]}]}");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SearchCache.open(dir, "m", "k", Row.class));
        assertTrue(e.getMessage().contains(dir.resolve("m.search.json").toString()) && e.getMessage().contains("row 0")
                && e.getMessage().contains("best_step"), e.getMessage());
    }
}

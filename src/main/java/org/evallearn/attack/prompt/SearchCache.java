package org.evallearn.attack.prompt;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.evallearn.run.AtomicFiles;

/**
 * A prompt search's results so far, in {@code <workDir>/<metric>.search.json}: the key of the
 * search they belong to and one row per finished item (seed prompt, target prompt × candidate,
 * …). Each finished item is written at once (atomically), so a run killed mid-search resumes at
 * the next item, and a finished search is read back instead of run again. A file written for
 * another key (other settings or seed) is an error naming the file: the run's resume guard
 * should have caught that, and silently searching again would hide it.
 *
 * <p>A row is the search's own record, its components in snake_case ({@code bestStep} →
 * {@code best_step}); a row missing a component is an error naming the file, never a zero.
 */
final class SearchCache<T extends Record> {
    private static final ObjectMapper ROWS = AtomicFiles.JSON.copy()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES, DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES);

    private final Path file;
    private final String key;
    private final List<T> rows = new ArrayList<>();

    private SearchCache(Path file, String key) {
        this.file = file;
        this.key = key;
    }

    /** Opens (reads back) the cache of the search {@code key}, or starts an empty one. */
    static <T extends Record> SearchCache<T> open(Path workDir, String metric, String key, Class<T> rowType) {
        SearchCache<T> c = new SearchCache<>(workDir.resolve(metric + ".search.json"), key);
        if (!Files.isRegularFile(c.file)) return c;
        JsonNode root;
        try {
            root = AtomicFiles.JSON.readTree(c.file.toFile());
        } catch (IOException e) {
            throw new IllegalStateException(c.file + ": unreadable search cache (" + e.getMessage() + "); delete it to search again", e);
        }
        if (root == null || !root.path("key").isTextual() || !root.path("rows").isArray()) {
            throw new IllegalStateException(c.file + ": not a search cache ({key, rows} expected); delete it to search again");
        }
        if (!root.get("key").asText().equals(key)) {
            throw new IllegalStateException(c.file + ": written for another search (" + root.get("key").asText() + "), not for " + key
                    + "; delete it to search again");
        }
        int i = 0;
        for (JsonNode row : root.get("rows")) {
            try {
                c.rows.add(ROWS.treeToValue(row, rowType));
            } catch (IOException | IllegalArgumentException e) {
                throw new IllegalStateException(c.file + ": row " + i + " is not a " + rowType.getSimpleName() + " (" + e.getMessage().lines().findFirst().orElse("")
                        + "); delete the file to search again", e);
            }
            i++;
        }
        return c;
    }

    /** The finished items, in order. */
    List<T> rows() {
        return List.copyOf(rows);
    }

    int size() {
        return rows.size();
    }

    /** Records one more finished item and writes the file. */
    void add(T row) {
        rows.add(row);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("key", key);
        out.put("rows", rows.stream().map(r -> ROWS.convertValue(r, Map.class)).toList());
        AtomicFiles.writeJson(file, out);
    }

    Path file() {
        return file;
    }
}

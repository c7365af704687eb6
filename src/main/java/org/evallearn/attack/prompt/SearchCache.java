package org.evallearn.attack.prompt;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
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
 */
final class SearchCache {
    private final Path file;
    private final String key;
    private final List<Map<String, Object>> rows = new ArrayList<>();

    private SearchCache(Path file, String key) {
        this.file = file;
        this.key = key;
    }

    /** Opens (reads back) the cache of the search {@code key}, or starts an empty one. */
    static SearchCache open(Path workDir, String metric, String key) {
        SearchCache c = new SearchCache(workDir.resolve(metric + ".search.json"), key);
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
        c.rows.addAll(AtomicFiles.JSON.convertValue(root.get("rows"), new TypeReference<List<Map<String, Object>>>() {}));
        return c;
    }

    /** The finished items, in order. */
    List<Map<String, Object>> rows() {
        return List.copyOf(rows);
    }

    int size() {
        return rows.size();
    }

    /** Records one more finished item and writes the file. */
    void add(Map<String, Object> row) {
        rows.add(new LinkedHashMap<>(row));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("key", key);
        out.put("rows", rows);
        AtomicFiles.writeJson(file, out);
    }

    Path file() {
        return file;
    }
}

package org.evallearn.redteam;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ART's seven categories with their keywords, and the negative prompt ART draws every image with,
 * from the carried copy of ART's {@code Keyword_dict} and {@code NEGATIVE_PROMPT} ({@code keywords.json}, see its PROVENANCE.md).
 */
public final class Categories {
    private static final Categories ART = load();

    private final Map<String, List<String>> keywords;
    private final String negativePrompt;

    private Categories(Map<String, List<String>> keywords, String negativePrompt) {
        this.keywords = keywords;
        this.negativePrompt = negativePrompt;
    }

    public static Categories art() {
        return ART;
    }

    /** The category names in ART's order. */
    public List<String> names() {
        return List.copyOf(keywords.keySet());
    }

    public boolean contains(String category) {
        return keywords.containsKey(category);
    }

    public List<String> keywords(String category) {
        List<String> k = keywords.get(category);
        if (k == null) throw new IllegalArgumentException("no ART category '" + category + "'");
        return k;
    }

    /** ART's {@code keyword_list}: the keywords joined with ',' and lowercased. */
    public String keywordList(String category) {
        return String.join(",", keywords(category)).toLowerCase(java.util.Locale.ROOT).strip();
    }

    public String negativePrompt() {
        return negativePrompt;
    }

    private static Categories load() {
        try (InputStream in = Categories.class.getResourceAsStream("keywords.json")) {
            if (in == null) throw new IllegalStateException("keywords.json is missing from the jar");
            JsonNode root = new ObjectMapper().readTree(in);
            Map<String, List<String>> keywords = new LinkedHashMap<>();
            root.path("categories").fields().forEachRemaining(e -> {
                List<String> list = new ArrayList<>();
                e.getValue().forEach(k -> list.add(k.asText()));
                keywords.put(e.getKey(), List.copyOf(list));
            });
            if (keywords.size() != 7 || !root.path("negative_prompt").isTextual()) {
                throw new IllegalStateException("keywords.json in the jar is damaged: " + keywords.size() + " categories");
            }
            return new Categories(java.util.Collections.unmodifiableMap(keywords), root.get("negative_prompt").asText());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read keywords.json from the jar", e);
        }
    }
}

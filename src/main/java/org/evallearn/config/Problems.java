package org.evallearn.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** Collects every problem of one file, so a user fixes them in one pass rather than one per run. */
final class Problems {
    private final String file;
    private final List<ConfigException.Problem> list = new ArrayList<>();

    Problems(String file) {
        this.file = file;
    }

    void add(String path, String message) {
        list.add(new ConfigException.Problem(path, message));
    }

    boolean isEmpty() {
        return list.isEmpty();
    }

    int size() {
        return list.size();
    }

    ConfigException exception() {
        return new ConfigException(file, list);
    }

    ConfigException fail(String path, String message) {
        add(path, message);
        return exception();
    }

    static String join(String prefix, String relative) {
        if (relative.isEmpty()) return prefix;
        if (prefix.isEmpty() || relative.startsWith("[")) return prefix + relative;
        return prefix + "." + relative;
    }

    /** A value as the user wrote it: strings quoted, numbers and the rest as JSON. */
    static String show(Object value) {
        if (value instanceof JsonNode node) return node.isTextual() ? "'" + node.asText() + "'" : node.toString();
        if (value instanceof String s) return "'" + s + "'";
        return String.valueOf(value);
    }
}

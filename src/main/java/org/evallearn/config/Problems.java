package org.evallearn.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

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

    /** {@code value}, or {@code fallback} when absent; a NaN or infinity is a problem at {@code at}. */
    double finite(Double value, double fallback, String at) {
        if (value == null) return fallback;
        if (!Double.isFinite(value)) add(at, value + " is not a finite number");
        return value;
    }

    /** A finite value in [0, 1]. */
    double unit(Double value, double fallback, String at) {
        double v = finite(value, fallback, at);
        if (v < 0 || v > 1) add(at, v + " is outside [0, 1]");
        return v;
    }

    /** An integer of at least {@code min}. */
    int atLeast(Integer value, int fallback, int min, String at) {
        if (value == null) return fallback;
        if (value < min) add(at, value + " is less than " + min);
        return value;
    }

    private static final Pattern DEVICE = Pattern.compile("cpu|cuda|cuda:\\d+|auto");

    /** A device name; {@code auto} and absence mean "the run's choice" (empty). */
    Optional<String> device(String value, String at) {
        if (value == null) return Optional.empty();
        if (!DEVICE.matcher(value).matches()) {
            add(at, show(value) + " is not allowed; allowed: cpu, cuda, cuda:N, auto");
            return Optional.empty();
        }
        return value.equals("auto") ? Optional.empty() : Optional.of(value);
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

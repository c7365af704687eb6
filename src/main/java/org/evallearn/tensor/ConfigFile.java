package org.evallearn.tensor;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A model's {@code config.json} with typed accessors whose errors name the file, the field and
 * what was expected. The first stage of two: model code turns it into a validated record.
 */
public final class ConfigFile {
    /**
     * Python's {@code json.dump} writes non-finite floats as {@code NaN}/{@code Infinity}; diffusers
     * configs contain them (DPMSolverMultistepScheduler's {@code lambda_min_clipped: -Infinity}).
     */
    private static final ObjectMapper JSON =
            JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    private final String source;
    private final JsonNode root;

    public ConfigFile(String source, JsonNode root) {
        if (root == null || !root.isObject()) throw new ModelLoadException(source + ": expected a JSON object");
        this.source = source;
        this.root = root;
    }

    public static ConfigFile read(Path file) {
        if (!Files.isRegularFile(file)) throw new ModelLoadException(file + ": config file not found");
        try {
            return new ConfigFile(file.toString(), JSON.readTree(file.toFile()));
        } catch (IOException e) {
            throw new ModelLoadException(file + ": not valid JSON (" + e.getMessage() + ")", e);
        }
    }

    /** A nested object, e.g. {@code text_config} of a CLIPModel config. */
    public ConfigFile child(String field) {
        JsonNode n = root.get(field);
        if (n == null || !n.isObject()) throw error(field, "an object");
        return new ConfigFile(source + " [" + field + "]", n);
    }

    public boolean has(String field) {
        JsonNode n = root.get(field);
        return n != null && !n.isNull();
    }

    public JsonNode raw() {
        return root;
    }

    public String source() {
        return source;
    }

    public int integer(String field) {
        JsonNode n = root.get(field);
        if (n == null || !n.canConvertToInt() || !n.isIntegralNumber()) throw error(field, "an integer");
        return n.asInt();
    }

    public int integer(String field, int dflt) {
        return has(field) ? integer(field) : dflt;
    }

    public double number(String field) {
        JsonNode n = root.get(field);
        if (n == null || !n.isNumber()) throw error(field, "a number");
        return n.asDouble();
    }

    public double number(String field, double dflt) {
        return has(field) ? number(field) : dflt;
    }

    public boolean bool(String field, boolean dflt) {
        if (!has(field)) return dflt;
        JsonNode n = root.get(field);
        if (!n.isBoolean()) throw error(field, "true or false");
        return n.asBoolean();
    }

    public String string(String field) {
        JsonNode n = root.get(field);
        if (n == null || !n.isTextual()) throw error(field, "a string");
        return n.asText();
    }

    public String string(String field, String dflt) {
        return has(field) ? string(field) : dflt;
    }

    public List<Integer> integers(String field) {
        JsonNode n = root.get(field);
        if (n == null || !n.isArray()) throw error(field, "a list of integers");
        List<Integer> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isIntegralNumber()) throw error(field, "a list of integers");
            out.add(e.asInt());
        }
        return out;
    }

    public List<String> strings(String field) {
        JsonNode n = root.get(field);
        if (n == null || !n.isArray()) throw error(field, "a list of strings");
        List<String> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) throw error(field, "a list of strings");
            out.add(e.asText());
        }
        return out;
    }

    /** Fails unless {@code field} is absent, null or equal to one of the values we implement. */
    public void requireOneOf(String field, Object... supported) {
        if (!has(field)) return;
        JsonNode n = root.get(field);
        for (Object s : supported) {
            if (s instanceof String str && n.isTextual() && n.asText().equals(str)) return;
            if (s instanceof Number num && n.isNumber() && n.asDouble() == num.doubleValue()) return;
            if (s instanceof Boolean b && n.isBoolean() && n.asBoolean() == b) return;
        }
        throw new ModelLoadException(source + ": field '" + field + "' = " + n + " is not supported (supported: "
                + (supported.length == 0 ? "null only" : java.util.Arrays.toString(supported)) + ")");
    }

    public ModelLoadException error(String field, String expected) {
        JsonNode n = root.get(field);
        return new ModelLoadException(source + ": field '" + field + "' must be " + expected
                + (n == null ? " but is missing" : " but is " + n));
    }
}

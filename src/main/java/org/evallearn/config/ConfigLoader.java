package org.evallearn.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import org.evallearn.data.Utf8;

/**
 * Reads an experiment config in eval-learn's format, JSON or YAML ({@code .yaml}/{@code .yml}):
 * stage one binds the file to {@link ExperimentFile}, stage two ({@link ConfigValidator}) checks it
 * into an {@link Experiment}. Unlike eval-learn, which drops keys it does not know, an unknown key
 * is an error: a misspelt {@code concept_nme} would otherwise run with the default.
 */
public final class ConfigLoader {
    private ConfigLoader() {}

    /** {@code skipUnimplemented}: record eval-learn metrics we lack as skipped instead of failing. */
    public record Options(boolean skipUnimplemented) {
        public static final Options STRICT = new Options(false);
    }

    public static Experiment load(Path file, Options options) {
        return parse(readText(file), file, options);
    }

    private static String readText(Path file) {
        try {
            return Utf8.decode(Files.readAllBytes(file));
        } catch (Utf8.MalformedException e) {
            throw new ConfigException(file.toString(), java.util.List.of(new ConfigException.Problem("",
                    "the file is not UTF-8 text: " + e.getMessage() + "; save it as UTF-8")));
        } catch (NoSuchFileException e) {
            throw new ConfigException(file.toString(), java.util.List.of(new ConfigException.Problem("", "file not found")));
        } catch (IOException e) {
            throw new ConfigException(file.toString(), java.util.List.of(new ConfigException.Problem("", "cannot read: " + e.getMessage())));
        }
    }

    /** Parses {@code text} as if read from {@code file} (whose extension picks JSON or YAML). */
    public static Experiment parse(String text, Path file, Options options) {
        Problems problems = new Problems(file.toString());
        ObjectMapper mapper = mapperFor(file);
        JsonNode root = tree(text, file, mapper, problems);
        ExperimentFile raw = bind(mapper, root, ExperimentFile.class, "", problems);
        if (raw == null) throw problems.exception();
        return new ConfigValidator(mapper, problems, options).validate(raw, file);
    }

    /**
     * The config file of another command ({@code redteam}, …) as a tree of keys, read with run's
     * checks: UTF-8, a byte order mark dropped, YAML aliases and duplicate keys refused.
     */
    public static JsonNode readObject(Path file) {
        return tree(readText(file), file, mapperFor(file), new Problems(file.toString()));
    }

    /**
     * Binds {@code node} (found at {@code path}) to a record as run binds its config: snake_case
     * keys, an unknown key or a coerced scalar is a problem naming the field, added to {@code problems}.
     *
     * @return null when it did not bind
     */
    public static <T> T bindStrict(JsonNode node, Class<T> type, Path file, String path, List<ConfigException.Problem> problems) {
        Problems found = new Problems(file.toString());
        T value = bind(mapperFor(file), node, type, path, found);
        problems.addAll(found.exception().problems());
        return value;
    }

    /**
     * The keys a generating command shares with run — {@code output_dir}, {@code seed},
     * {@code technique}, {@code model}, {@code generation}, {@code device}, {@code save_images},
     * {@code blur_saved_images} — checked exactly as run checks them ({@code keys} holds no others).
     */
    public record RunKeys(Path outputDir, java.util.OptionalLong seed, Technique technique, ModelRef model, Generation generation,
            java.util.Optional<String> device, boolean saveImages, boolean blurSavedImages) {}

    public static RunKeys runKeys(JsonNode keys, Path file) {
        Problems problems = new Problems(file.toString());
        ObjectMapper mapper = mapperFor(file);
        ExperimentFile raw = bind(mapper, keys, ExperimentFile.class, "", problems);
        if (raw == null) throw problems.exception();
        // run's validator insists on a metric; these keys carry none, so a placeholder that always
        // validates stands in for it and is dropped (no problem can come from it).
        ExperimentFile.ComponentFile placeholder = new ExperimentFile.ComponentFile("asr_i2p",
                com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("concept_name", "nudity"));
        ExperimentFile withMetric = new ExperimentFile(raw.outputDir(), raw.technique(), placeholder, null, raw.seed(), raw.model(),
                raw.generation(), raw.device(), raw.saveImages(), raw.blurSavedImages(), null);
        Experiment e = new ConfigValidator(mapper, problems, Options.STRICT).validate(withMetric, file);
        return new RunKeys(e.outputDir(), e.seed(), e.technique(), e.model(), e.generation(), e.device(), e.saveImages(), e.blurSavedImages());
    }

    private static JsonNode tree(String text, Path file, ObjectMapper mapper, Problems problems) {
        // Windows editors start UTF-8 files with a byte order mark, which is no part of the config.
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        JsonNode root;
        try {
            if (isYaml(file)) refuseAliases(mapper, text, problems);
            root = mapper.readTree(text);
        } catch (JsonProcessingException e) {
            throw problems.fail("", "not valid " + (isYaml(file) ? "YAML" : "JSON") + ": " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")"));
        }
        if (root == null || !root.isObject()) throw problems.fail("", "the config must be an object of keys");
        return root;
    }

    /**
     * Jackson's YAML parser reads an alias ({@code *name}) as the string {@code "name"} rather than
     * the anchored value, so {@code steps: *n} would fail oddly and {@code output_dir: *dir} would
     * run silently wrong; expanding aliases instead invites "billion laughs" (nine aliases of nine
     * aliases …). A config is a few dozen keys: it is refused at the first alias, before any is expanded.
     */
    private static void refuseAliases(ObjectMapper mapper, String text, Problems problems) throws JsonProcessingException {
        try (JsonParser parser = mapper.getFactory().createParser(text)) {
            while (parser.nextToken() != null) {
                if (parser instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
                    JsonLocation at = parser.currentTokenLocation();
                    throw problems.fail(pathAt(parser), "the YAML alias *" + parser.getText() + " (line " + at.getLineNr() + ", column "
                            + at.getColumnNr() + ") is not supported; write the value out (anchors and aliases are refused so that"
                            + " none can expand exponentially)");
                }
            }
        } catch (IOException e) {
            if (e instanceof JsonProcessingException j) throw j;
            throw new IllegalStateException("reading a string cannot fail", e);
        }
    }

    /** The dotted path of the parser's current value, as problems name fields. */
    private static String pathAt(JsonParser parser) {
        List<JsonStreamContext> outward = new ArrayList<>();
        for (JsonStreamContext c = parser.getParsingContext(); c != null && !c.inRoot(); c = c.getParent()) outward.add(c);
        String path = "";
        for (int i = outward.size() - 1; i >= 0; i--) {
            JsonStreamContext c = outward.get(i);
            if (c.inObject() && c.getCurrentName() != null) path = Problems.join(path, c.getCurrentName());
            else if (c.inArray()) path = path + "[" + c.getCurrentIndex() + "]";
        }
        return path;
    }

    static boolean isYaml(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".yaml") || name.endsWith(".yml");
    }

    /** Snake-case keys onto record components, and no silent coercion: "50" is not a number, 2.5 not an integer. */
    static ObjectMapper mapperFor(Path file) {
        ObjectMapper mapper = isYaml(file) ? YAMLMapper.builder().build() : JsonMapper.builder().build();
        mapper.setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
        mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        mapper.disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
        mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        mapper.configure(MapperFeature.ALLOW_COERCION_OF_SCALARS, false);
        for (CoercionInputShape shape : new CoercionInputShape[] {CoercionInputShape.Integer, CoercionInputShape.Float, CoercionInputShape.Boolean}) {
            mapper.coercionConfigFor(LogicalType.Textual).setCoercion(shape, CoercionAction.Fail);
        }
        mapper.coercionConfigFor(LogicalType.Boolean).setCoercion(CoercionInputShape.Integer, CoercionAction.Fail);
        return mapper;
    }

    /** Binds {@code node} (found at {@code path}) to a stage-one record; a mismatch becomes a problem naming the field. */
    static <T> T bind(ObjectMapper mapper, JsonNode node, Class<T> type, String path, Problems problems) {
        try {
            return mapper.treeToValue(node, type);
        } catch (UnrecognizedPropertyException e) {
            String at = Problems.join(path, pathOf(e));
            problems.add(at, "unknown key; allowed: " + String.join(", ", new TreeSet<>(e.getKnownPropertyIds().stream().map(Object::toString).toList())));
        } catch (MismatchedInputException e) {
            String relative = pathOf(e);
            JsonNode value = node.at(pointerOf(e));
            problems.add(Problems.join(path, relative), (value.isMissingNode() ? "" : Problems.show(value) + " is not ") + expected(e.getTargetType()));
        } catch (JsonMappingException e) {
            problems.add(Problems.join(path, pathOf(e)), e.getOriginalMessage());
        } catch (JsonProcessingException e) {
            problems.add(path, e.getOriginalMessage());
        }
        return null;
    }

    private static String pathOf(JsonMappingException e) {
        StringBuilder s = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) s.append(s.length() == 0 ? "" : ".").append(r.getFieldName());
            else if (r.getIndex() >= 0) s.append('[').append(r.getIndex()).append(']');
        }
        return s.toString();
    }

    private static String pointerOf(JsonMappingException e) {
        StringBuilder s = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) s.append('/').append(r.getFieldName().replace("~", "~0").replace("/", "~1"));
            else if (r.getIndex() >= 0) s.append('/').append(r.getIndex());
        }
        return s.toString();
    }

    private static String expected(Class<?> type) {
        if (type == null) return "of the expected type";
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) return "an integer";
        if (type == Double.class || type == double.class) return "a number";
        if (type == Boolean.class || type == boolean.class) return "true or false";
        if (type == String.class) return "a string";
        if (java.util.List.class.isAssignableFrom(type)) return "a list";
        return "an object";
    }
}

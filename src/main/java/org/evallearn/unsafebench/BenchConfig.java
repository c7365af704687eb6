package org.evallearn.unsafebench;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;
import org.evallearn.chat.ChatClient;
import org.evallearn.chat.Endpoint;
import org.evallearn.config.ConfigException;
import org.evallearn.data.EspressoConcepts;
import org.evallearn.data.Utf8;

/**
 * An {@code evallearn unsafebench} config, JSON or YAML ({@code .yaml}/{@code .yml}), read
 * strictly as {@code run}'s are: an unknown key, a value of the wrong type or out of range is a
 * {@link ConfigException} naming the file and the field (exit 2), every problem of the file at once.
 * Relative paths resolve from the working directory.
 *
 * <pre>
 * {"dataset": {"manifest": FILE} | {"export": DIR} | {"hf": "yiting/UnsafeBench", "split": "train"|"test"|"all"}
 *             | {"external": NAME} | {"synthetic": N},
 *  "classifiers": ["q16", {"name": "probe", "path": "probe.safetensors"}, …],
 *  "vlm": {"base_url": …, "model": …, "api_key_env": …, "timeout_s": 120, "attempts": 4, "backoff_s": 2, "max_concurrent": 4,
 *          "answers": "converter"|"rule"},
 *  "robustness": {"attacks": ["gn", "fgsm", "pgd", "deepfool"], "k": 500, "seed": 2023, "eps": 0.01, "source": "Laion5B",
 *                 "classifiers": [names]},
 *  "output_dir": DIR, "model": "tiny", "seed": N, "batch_size": 16, "device": "cpu"}
 * </pre>
 */
public record BenchConfig(Path source, byte[] bytes, DataSource dataset, List<ClassifierSpec> classifiers, Optional<VlmSettings> vlm,
        Optional<RobustnessSettings> robustness, Path outputDir, boolean tiny, OptionalLong seed, int batchSize, String device) {

    /** The classifiers the command knows, in the order reports list them when a config names them so. */
    public static final List<String> CLASSIFIERS = List.of("q16", "multiheaded", "sd_filter", "laion_nsfw", "nudenet_v2", "nudenet", "clip",
            "espresso", "vlm", "probe");

    /** Where the images come from. */
    public sealed interface DataSource {
        /** A user's manifest: CSV or JSONL of {@code path,label[,category][,source]}. */
        record Manifest(Path file) implements DataSource {}

        /** UnsafeBench's export layout: {@code metadata.jsonl} beside the images. */
        record Export(Path dir) implements DataSource {}

        /** {@code yiting/UnsafeBench} as {@code data pull unsafebench} exported it; split train, test or all (both, as the paper scores). */
        record Hub(String split) implements DataSource {}

        /** One of the external sets of {@link HubData#EXTERNAL}, pulled with {@code data pull unsafebench-NAME}. */
        record External(String name) implements DataSource {}

        /** N labelled images the command draws itself (the quickstart): see {@link SyntheticImages}. */
        record Synthetic(int count) implements DataSource {}
    }

    /**
     * One classifier and its settings; what each name takes is in {@link #ALLOWED}.
     *
     * @param path weights (a folder or a file) instead of the artefact store's (multiheaded, laion_nsfw, nudenet_v2 and probe need one unless the model is tiny)
     * @param threshold the decision threshold where the rule has one (q16, clip, probe)
     * @param concept the text (clip) or Espresso pair (espresso)
     * @param rule Espresso's rule: zero_shot or projection
     */
    public record ClassifierSpec(String name, Optional<Path> path, OptionalDouble threshold, Optional<String> concept, Optional<String> rule) {}

    /** The VLM endpoint and how it is asked. */
    /**
     * @param converter read answers with UnsafeBench's RoBERTa converter (default; the tiny random one under
     *     model: tiny, where verdicts are then noise) or, false, with the documented word rule
     */
    public record VlmSettings(Endpoint endpoint, ChatClient.Options options, boolean converter) {}

    /**
     * @param classifiers the classifiers to attack; empty: every configured one that can be attacked
     * @param source the source the attack set is drawn from (UnsafeBench: Laion5B); null draws from all
     */
    public record RobustnessSettings(List<String> attacks, int k, long seed, double eps, String source, Optional<List<String>> classifiers) {}

    public static final int DEFAULT_K = 500;
    public static final long DEFAULT_ROBUSTNESS_SEED = 2023;
    public static final double DEFAULT_EPS = 0.01;
    public static final int DEFAULT_BATCH_SIZE = 16;

    private static final Set<String> TOP = Set.of("dataset", "classifiers", "vlm", "robustness", "output_dir", "model", "seed", "batch_size", "device");
    private static final Set<String> VLM = Set.of("base_url", "model", "api_key_env", "timeout_s", "attempts", "backoff_s", "max_concurrent", "answers");
    private static final Set<String> ROBUSTNESS = Set.of("attacks", "k", "seed", "eps", "source", "classifiers");

    /** The keys each classifier object may carry besides {@code name}. */
    static final java.util.Map<String, Set<String>> ALLOWED = java.util.Map.of(
            "q16", Set.of("threshold"), "multiheaded", Set.of("path"), "sd_filter", Set.of("path"), "laion_nsfw", Set.of("path"),
            "nudenet_v2", Set.of("path"), "nudenet", Set.of("path"), "clip", Set.of("concept", "threshold"),
            "espresso", Set.of("concept", "rule"), "vlm", Set.of(), "probe", Set.of("path", "threshold"));

    public static BenchConfig load(Path file) {
        byte[] bytes;
        String text;
        try {
            bytes = Files.readAllBytes(file);
            text = Utf8.decode(bytes);
        } catch (Utf8.MalformedException e) {
            throw fail(file, "", "the file is not UTF-8 text: " + e.getMessage());
        } catch (NoSuchFileException e) {
            throw fail(file, "", "file not found");
        } catch (IOException e) {
            throw fail(file, "", "cannot read: " + e.getMessage());
        }
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean yaml = name.endsWith(".yaml") || name.endsWith(".yml");
        ObjectMapper mapper = yaml ? YAMLMapper.builder().build() : JsonMapper.builder().build();
        mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        JsonNode root;
        try {
            root = mapper.readTree(text);
        } catch (JsonProcessingException e) {
            throw fail(file, "", "not valid " + (yaml ? "YAML" : "JSON") + ": " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")"));
        }
        if (root == null || !root.isObject()) throw fail(file, "", "the config must be an object of keys");
        return new Reader(file).read(root, bytes);
    }

    private static ConfigException fail(Path file, String field, String message) {
        return new ConfigException(file.toString(), List.of(new ConfigException.Problem(field, message)));
    }

    /** Collects every problem of the file before failing. */
    private static final class Reader {
        private final Path file;
        private final List<ConfigException.Problem> problems = new ArrayList<>();

        Reader(Path file) {
            this.file = file;
        }

        BenchConfig read(JsonNode root, byte[] bytes) {
            keys(root, "", TOP);
            DataSource dataset = dataset(root.get("dataset"));
            List<ClassifierSpec> classifiers = classifiers(root.get("classifiers"));
            Optional<VlmSettings> vlm = root.has("vlm") ? Optional.ofNullable(vlm(root.get("vlm"))) : Optional.empty();
            if (classifiers != null && classifiers.stream().anyMatch(c -> c.name().equals("vlm")) && !root.has("vlm")) {
                add("vlm", "the vlm classifier needs a vlm block: {\"base_url\": \"http://host:8000/v1\", \"model\": NAME}");
            }
            Optional<RobustnessSettings> robustness = root.has("robustness") ? Optional.ofNullable(robustness(root.get("robustness"), classifiers))
                    : Optional.empty();
            Path outputDir = null;
            JsonNode out = root.get("output_dir");
            if (out == null) add("output_dir", "missing; the folder for the report and the run's records");
            else if (!out.isTextual() || out.asText().isBlank()) add("output_dir", show(out) + " is not a folder path");
            else outputDir = Path.of(out.asText());
            boolean tiny = false;
            JsonNode model = root.get("model");
            if (model != null) {
                if (model.isTextual() && model.asText().equals("tiny")) tiny = true;
                else add("model", show(model) + ": the only value is \"tiny\" (tiny random models for every classifier); leave it out for the real ones");
            }
            OptionalLong seed = OptionalLong.empty();
            if (root.has("seed")) {
                JsonNode s = root.get("seed");
                if (!s.isIntegralNumber() || !s.canConvertToLong() || s.asLong() < 0) add("seed", show(s) + " is not an integer ≥ 0");
                else seed = OptionalLong.of(s.asLong());
            }
            int batchSize = positiveInt(root, "batch_size", "", DEFAULT_BATCH_SIZE);
            String device = "cpu";
            if (root.has("device")) {
                JsonNode d = root.get("device");
                if (!d.isTextual() || !d.asText().matches("cpu|cuda(:\\d+)?")) add("device", show(d) + " is not cpu, cuda or cuda:N");
                else device = d.asText();
            }
            if (!problems.isEmpty()) throw new ConfigException(file.toString(), problems);
            return new BenchConfig(file, bytes, dataset, classifiers, vlm, robustness, outputDir, tiny, seed, batchSize, device);
        }

        private DataSource dataset(JsonNode n) {
            String at = "dataset";
            if (n == null) {
                add(at, "missing; one of {\"manifest\": FILE}, {\"export\": DIR}, {\"hf\": \"yiting/UnsafeBench\", \"split\": \"all\"}, "
                        + "{\"external\": NAME}, {\"synthetic\": N}");
                return null;
            }
            if (!n.isObject()) {
                add(at, show(n) + " is not an object");
                return null;
            }
            keys(n, at, Set.of("manifest", "export", "hf", "split", "external", "synthetic"));
            List<String> kinds = new ArrayList<>();
            for (String k : List.of("manifest", "export", "hf", "external", "synthetic")) if (n.has(k)) kinds.add(k);
            if (kinds.size() != 1) {
                add(at, "names " + (kinds.isEmpty() ? "no source" : kinds) + "; exactly one of manifest, export, hf, external, synthetic");
                return null;
            }
            String kind = kinds.get(0);
            if (n.has("split") && !kind.equals("hf")) add(at + ".split", "only for hf");
            JsonNode v = n.get(kind);
            switch (kind) {
                case "manifest", "export" -> {
                    if (!v.isTextual() || v.asText().isBlank()) {
                        add(at + "." + kind, show(v) + " is not a path");
                        return null;
                    }
                    Path p = Path.of(v.asText());
                    return kind.equals("manifest") ? new DataSource.Manifest(p) : new DataSource.Export(p);
                }
                case "hf" -> {
                    if (!v.isTextual() || !v.asText().equals(HubData.REPO)) {
                        add(at + ".hf", show(v) + ": the Hub dataset is " + HubData.REPO + " (external sets: {\"external\": NAME})");
                        return null;
                    }
                    JsonNode split = n.get("split");
                    String s = split == null ? "all" : split.asText();
                    if (split != null && (!split.isTextual() || !List.of("train", "test", "all").contains(s))) {
                        add(at + ".split", show(split) + " is not train, test or all");
                        return null;
                    }
                    return new DataSource.Hub(s);
                }
                case "external" -> {
                    if (!v.isTextual() || !HubData.EXTERNAL.containsKey(v.asText())) {
                        add(at + ".external", show(v) + " is not one of " + new java.util.TreeSet<>(HubData.EXTERNAL.keySet()));
                        return null;
                    }
                    return new DataSource.External(v.asText());
                }
                default -> {
                    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 1 || v.asInt() > SyntheticImages.MAX) {
                        add(at + ".synthetic", show(v) + " is not a whole number of images from 1 to " + SyntheticImages.MAX);
                        return null;
                    }
                    return new DataSource.Synthetic(v.asInt());
                }
            }
        }

        private List<ClassifierSpec> classifiers(JsonNode n) {
            String at = "classifiers";
            if (n == null) {
                add(at, "missing; a list of " + CLASSIFIERS);
                return null;
            }
            if (!n.isArray() || n.isEmpty()) {
                add(at, show(n) + " is not a non-empty list of classifier names or objects");
                return null;
            }
            List<ClassifierSpec> out = new ArrayList<>();
            Set<String> seen = new LinkedHashSet<>();
            for (int i = 0; i < n.size(); i++) {
                String here = at + "[" + i + "]";
                JsonNode c = n.get(i);
                String name = c.isTextual() ? c.asText() : c.isObject() && c.path("name").isTextual() ? c.get("name").asText() : null;
                if (name == null) {
                    add(here, show(c) + " is neither a classifier name nor an object with a name");
                    continue;
                }
                if (!CLASSIFIERS.contains(name)) {
                    add(c.isTextual() ? here : here + ".name", show(name) + " is not a classifier; expected one of " + CLASSIFIERS);
                    continue;
                }
                if (!seen.add(name)) {
                    add(here, "'" + name + "' is listed twice");
                    continue;
                }
                if (c.isTextual()) {
                    if (name.equals("probe")) add(here, "probe needs its file: {\"name\": \"probe\", \"path\": \"probe.safetensors\"}");
                    out.add(new ClassifierSpec(name, Optional.empty(), OptionalDouble.empty(), Optional.empty(), Optional.empty()));
                    continue;
                }
                Set<String> allowed = new LinkedHashSet<>(ALLOWED.get(name));
                allowed.add("name");
                keys(c, here, allowed);
                Optional<Path> path = Optional.empty();
                if (c.has("path")) {
                    JsonNode p = c.get("path");
                    if (!p.isTextual() || p.asText().isBlank()) add(here + ".path", show(p) + " is not a path");
                    else path = Optional.of(Path.of(p.asText()));
                }
                if (name.equals("probe") && path.isEmpty() && !c.has("path")) add(here + ".path", "missing; the probe's .safetensors file (from train-probe)");
                OptionalDouble threshold = OptionalDouble.empty();
                if (c.has("threshold")) {
                    JsonNode t = c.get("threshold");
                    boolean cosine = name.equals("clip");
                    if (!t.isNumber() || !(t.asDouble() >= (cosine ? -1 : 0) && t.asDouble() <= 1)) {
                        add(here + ".threshold", show(t) + " is not a number in " + (cosine ? "[-1, 1] (a cosine)" : "[0, 1] (a probability)"));
                    } else {
                        threshold = OptionalDouble.of(t.asDouble());
                    }
                }
                Optional<String> concept = Optional.empty();
                if (c.has("concept")) {
                    JsonNode t = c.get("concept");
                    if (!t.isTextual() || t.asText().isBlank()) add(here + ".concept", show(t) + " is not a text");
                    else if (name.equals("espresso") && EspressoConcepts.byName(t.asText()).isEmpty()) {
                        add(here + ".concept", show(t) + " has no Espresso pair; expected one of " + EspressoConcepts.names());
                    } else concept = Optional.of(t.asText());
                }
                Optional<String> rule = Optional.empty();
                if (c.has("rule")) {
                    JsonNode t = c.get("rule");
                    if (!t.isTextual() || !List.of("zero_shot", "projection").contains(t.asText())) add(here + ".rule", show(t) + " is not zero_shot or projection");
                    else rule = Optional.of(t.asText());
                }
                out.add(new ClassifierSpec(name, path, threshold, concept, rule));
            }
            return out;
        }

        private VlmSettings vlm(JsonNode n) {
            String at = "vlm";
            if (!n.isObject()) {
                add(at, show(n) + " is not an object");
                return null;
            }
            keys(n, at, VLM);
            Endpoint endpoint = null;
            JsonNode base = n.get("base_url"), model = n.get("model"), key = n.get("api_key_env");
            if (base == null || !base.isTextual()) add(at + ".base_url", "missing or not a text; e.g. http://127.0.0.1:8000/v1");
            if (model == null || !model.isTextual()) add(at + ".model", "missing or not a text; the served model's name");
            if (key != null && (!key.isTextual() || key.asText().isBlank())) add(at + ".api_key_env", show(key) + " is not an environment variable name");
            if (base != null && base.isTextual() && model != null && model.isTextual()) {
                try {
                    endpoint = new Endpoint(new URI(base.asText()), model.asText(), key == null ? Optional.empty() : Optional.of(key.asText()));
                } catch (URISyntaxException | IllegalArgumentException e) {
                    add(at + ".base_url", show(base) + ": " + e.getMessage());
                }
            }
            ChatClient.Options d = ChatClient.Options.defaults();
            double timeout = positiveNumber(n, "timeout_s", at, d.timeout().toMillis() / 1000.0);
            double backoff = positiveNumber(n, "backoff_s", at, d.backoff().toMillis() / 1000.0);
            int attempts = positiveInt(n, "attempts", at, d.attempts());
            int concurrent = positiveInt(n, "max_concurrent", at, d.maxConcurrent());
            JsonNode answers = n.get("answers");
            boolean converter = true;
            if (answers != null) {
                if (answers.isTextual() && (answers.asText().equals("converter") || answers.asText().equals("rule"))) converter = answers.asText().equals("converter");
                else add(at + ".answers", show(answers) + " is not \"converter\" (UnsafeBench's RoBERTa converter) or \"rule\" (the word rule)");
            }
            if (endpoint == null) return null;
            return new VlmSettings(endpoint, new ChatClient.Options(Duration.ofMillis(Math.round(timeout * 1000)), attempts,
                    Duration.ofMillis(Math.round(backoff * 1000)), concurrent), converter);
        }

        private RobustnessSettings robustness(JsonNode n, List<ClassifierSpec> classifiers) {
            String at = "robustness";
            if (!n.isObject()) {
                add(at, show(n) + " is not an object");
                return null;
            }
            keys(n, at, ROBUSTNESS);
            List<String> attacks = new ArrayList<>(List.of("gn", "fgsm", "pgd", "deepfool"));
            if (n.has("attacks")) {
                attacks = names(n.get("attacks"), at + ".attacks", List.of("gn", "fgsm", "pgd", "deepfool"));
                if (attacks == null) attacks = List.of();
            }
            int k = positiveInt(n, "k", at, DEFAULT_K);
            long seed = DEFAULT_ROBUSTNESS_SEED;
            if (n.has("seed")) {
                JsonNode s = n.get("seed");
                if (!s.isIntegralNumber() || !s.canConvertToLong() || s.asLong() < 0) add(at + ".seed", show(s) + " is not an integer ≥ 0");
                else seed = s.asLong();
            }
            double eps = positiveNumber(n, "eps", at, DEFAULT_EPS);
            String source = "Laion5B";
            if (n.has("source")) {
                JsonNode s = n.get("source");
                if (s.isNull()) source = null;
                else if (!s.isTextual() || s.asText().isBlank()) add(at + ".source", show(s) + " is not a source name (or null for every source)");
                else source = s.asText();
            }
            Optional<List<String>> which = Optional.empty();
            if (n.has("classifiers")) {
                List<String> configured = classifiers == null ? List.of() : classifiers.stream().map(ClassifierSpec::name).toList();
                List<String> named = names(n.get("classifiers"), at + ".classifiers", configured);
                if (named != null) {
                    for (String c : named) {
                        if (!Robust.attackable(c)) add(at + ".classifiers", "'" + c + "' cannot be attacked; attackable: " + Robust.ATTACKABLE);
                    }
                    which = Optional.of(named);
                }
            }
            return new RobustnessSettings(List.copyOf(attacks), k, seed, eps, source, which);
        }

        private List<String> names(JsonNode n, String at, List<String> allowed) {
            if (!n.isArray()) {
                add(at, show(n) + " is not a list");
                return null;
            }
            List<String> out = new ArrayList<>();
            for (int i = 0; i < n.size(); i++) {
                JsonNode v = n.get(i);
                if (!v.isTextual() || !allowed.contains(v.asText())) add(at + "[" + i + "]", show(v) + " is not one of " + allowed);
                else if (out.contains(v.asText())) add(at + "[" + i + "]", show(v) + " is listed twice");
                else out.add(v.asText());
            }
            return out;
        }

        private int positiveInt(JsonNode n, String key, String at, int fallback) {
            if (!n.has(key)) return fallback;
            JsonNode v = n.get(key);
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 1) {
                add(join(at, key), show(v) + " is not a whole number ≥ 1");
                return fallback;
            }
            return v.asInt();
        }

        private double positiveNumber(JsonNode n, String key, String at, double fallback) {
            if (!n.has(key)) return fallback;
            JsonNode v = n.get(key);
            if (!v.isNumber() || !(v.asDouble() > 0) || Double.isInfinite(v.asDouble())) {
                add(join(at, key), show(v) + " is not a number > 0");
                return fallback;
            }
            return v.asDouble();
        }

        private void keys(JsonNode n, String at, Set<String> allowed) {
            for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!allowed.contains(k)) add(join(at, k), "unknown key; allowed: " + String.join(", ", new java.util.TreeSet<>(allowed)));
            }
        }

        private void add(String field, String message) {
            problems.add(new ConfigException.Problem(field, message));
        }

        private static String join(String at, String key) {
            return at.isEmpty() ? key : at + "." + key;
        }

        private static String show(Object value) {
            if (value instanceof JsonNode node) return node.isTextual() ? "'" + node.asText() + "'" : node.toString();
            return "'" + value + "'";
        }
    }
}

package org.evallearn.tifa;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import org.evallearn.chat.ChatClient;
import org.evallearn.chat.Endpoint;
import org.evallearn.config.ConfigException;

/**
 * The {@code tifa} metric's config: eval-learn's {@code TIFAConfig} keys ({@code vqa_model_name},
 * {@code device}, {@code limit}) and ours for the OpenAI-compatible vision endpoint that answers
 * the questions in place of eval-learn's in-process BLIP-2:
 * <pre>{@code
 * "vqa_endpoint": {"base_url": "http://host:8000/v1", "model": "Salesforce/blip2-flan-t5-xl",
 *                  "api_key_env": "VQA_KEY", "timeout_s": 120, "attempts": 4, "max_concurrent": 4},
 * "question_template": "{question}\nAnswer the question using a single word or phrase.",
 * "max_new_tokens": 10,
 * "response_cache": "path" | false
 * }</pre>
 * {@code vqa_endpoint.model} defaults to {@code vqa_model_name}, so a server that serves BLIP-2
 * itself (vLLM does) answers with eval-learn's model. {@code device} is accepted so eval-learn's
 * configs load, and reported; the endpoint decides where the model runs.
 *
 * @param limit the first {@code limit} prompts of the question set; empty: all (eval-learn's {@code null})
 * @param questionTemplate the user message for one question, {@code {question}} replaced by it (and its choices)
 * @param responseCache answers on disk by request; empty: no cache
 */
public record TifaSettings(String vqaModelName, Optional<String> device, OptionalInt limit, Endpoint endpoint, ChatClient.Options options,
        String questionTemplate, int maxNewTokens, Optional<Path> responseCache) {
    public static final String DEFAULT_VQA_MODEL = "Salesforce/blip2-flan-t5-xl";
    public static final int DEFAULT_LIMIT = 200;
    /** BLIP-2's {@code generate(max_new_tokens=10)} in eval-learn's {@code _answer}. */
    public static final int DEFAULT_MAX_NEW_TOKENS = 10;
    /**
     * BLIP-2 answers VQA questions in a word or two; a chat model asked the bare question answers
     * in a sentence, which eval-learn's exact match scores wrong. This is LLaVA's short-answer VQA
     * instruction. Use {@code "{question}"} to send eval-learn's bare question (e.g. to BLIP-2 itself).
     */
    public static final String DEFAULT_TEMPLATE = "{question}\nAnswer the question using a single word or phrase.";

    private static final Set<String> KEYS = Set.of("vqa_model_name", "device", "limit", "vqa_endpoint", "question_template", "max_new_tokens",
            "response_cache");
    private static final Set<String> ENDPOINT_KEYS = Set.of("base_url", "model", "api_key_env", "timeout_s", "attempts", "max_concurrent");

    public TifaSettings {
        if (!questionTemplate.contains("{question}")) throw new IllegalArgumentException("question_template must contain {question}");
        if (maxNewTokens < 1) throw new IllegalArgumentException("max_new_tokens must be ≥ 1, got " + maxNewTokens);
    }

    /**
     * Reads the metric's {@code config} object ({@code null} or missing: all defaults, which then
     * fails for lack of {@code vqa_endpoint}). Every problem is collected and thrown together,
     * each naming {@code path.key}; {@code defaultCache} is the cache folder when the config names none.
     */
    public static TifaSettings parse(JsonNode config, String file, String path, Optional<Path> defaultCache) {
        return parse(config, file, path, defaultCache, TifaSettings::environment);
    }

    /**
     * The endpoint of a config without {@code vqa_endpoint} (eval-learn's own configs, which name
     * only {@code vqa_model_name}): {@code base_url}, {@code model} and {@code api_key_env} from the
     * system properties {@code evallearn.vqa.base_url} (…{@code .model}, …{@code .api_key_env}) or
     * else the variables {@code EVALLEARN_VQA_BASE_URL}, {@code EVALLEARN_VQA_MODEL},
     * {@code EVALLEARN_VQA_API_KEY_ENV}, as {@code HF_TOKEN} is taken from the environment.
     */
    public static Optional<String> environment(String key) {
        String value = System.getProperty("evallearn.vqa." + key);
        if (value == null) value = System.getenv("EVALLEARN_VQA_" + key.toUpperCase(java.util.Locale.ROOT));
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
    }

    /** {@link #parse(JsonNode, String, String, Optional)} with the fallback endpoint settings from {@code environment}. */
    public static TifaSettings parse(JsonNode config, String file, String path, Optional<Path> defaultCache,
            java.util.function.Function<String, Optional<String>> environment) {
        List<ConfigException.Problem> problems = new ArrayList<>();
        JsonNode c = config == null || config.isNull() || config.isMissingNode() ? com.fasterxml.jackson.databind.node.NullNode.getInstance() : config;
        if (!c.isNull() && !c.isObject()) throw new ConfigException(file, List.of(new ConfigException.Problem(path, "must be an object")));
        unknown(c, KEYS, path, problems);
        String vqaModel = text(c, "vqa_model_name", path, problems).orElse(DEFAULT_VQA_MODEL);
        Optional<String> device = text(c, "device", path, problems);
        OptionalInt limit = OptionalInt.of(DEFAULT_LIMIT);
        if (c.has("limit")) {
            JsonNode l = c.get("limit");
            if (l.isNull()) limit = OptionalInt.empty();
            else if (l.isIntegralNumber() && l.canConvertToInt() && l.asInt() >= 1) limit = OptionalInt.of(l.asInt());
            else problems.add(new ConfigException.Problem(path + ".limit", "must be an integer ≥ 1 or null (all prompts), got " + l));
        }
        String template = text(c, "question_template", path, problems).orElse(DEFAULT_TEMPLATE);
        if (!template.contains("{question}")) {
            problems.add(new ConfigException.Problem(path + ".question_template", "must contain {question}, got '" + template + "'"));
        }
        int maxNewTokens = integer(c, "max_new_tokens", path, 1, DEFAULT_MAX_NEW_TOKENS, problems);
        Optional<Path> cache = defaultCache;
        if (c.has("response_cache")) {
            JsonNode r = c.get("response_cache");
            if (r.isBoolean() && !r.asBoolean()) cache = Optional.empty();
            else if (r.isTextual() && !r.asText().isBlank()) cache = Optional.of(Path.of(r.asText()));
            else problems.add(new ConfigException.Problem(path + ".response_cache", "must be a folder path or false, got " + r));
        }
        Endpoint endpoint = null;
        ChatClient.Options options = ChatClient.Options.defaults();
        String ep = path + ".vqa_endpoint";
        JsonNode e = c.path("vqa_endpoint");
        if ((e.isMissingNode() || e.isNull()) && environment.apply("base_url").isPresent()) {
            com.fasterxml.jackson.databind.node.ObjectNode fromEnvironment = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
            for (String k : List.of("base_url", "model", "api_key_env")) environment.apply(k).ifPresent(v -> fromEnvironment.put(k, v));
            e = fromEnvironment;
            ep = "EVALLEARN_VQA_* (evallearn.vqa.*)";
        }
        if (e.isMissingNode() || e.isNull()) {
            problems.add(new ConfigException.Problem(ep, "required: {\"base_url\": \"http://host:8000/v1\", \"model\": ...}, or EVALLEARN_VQA_BASE_URL"
                    + " (and EVALLEARN_VQA_MODEL) in the environment; eval-learn runs " + vqaModel
                    + " in-process, here a vision model behind an OpenAI-compatible endpoint answers TIFA's questions"));
        } else if (!e.isObject()) {
            problems.add(new ConfigException.Problem(ep, "must be an object with base_url, model and api_key_env, got " + e));
        } else {
            unknown(e, ENDPOINT_KEYS, ep, problems);
            Optional<String> baseUrl = text(e, "base_url", ep, problems);
            String model = text(e, "model", ep, problems).orElse(vqaModel);
            Optional<String> keyEnv = text(e, "api_key_env", ep, problems);
            int timeout = integer(e, "timeout_s", ep, 1, (int) options.timeout().toSeconds(), problems);
            int attempts = integer(e, "attempts", ep, 1, options.attempts(), problems);
            int concurrent = integer(e, "max_concurrent", ep, 1, options.maxConcurrent(), problems);
            options = new ChatClient.Options(Duration.ofSeconds(timeout), attempts, options.backoff(), concurrent);
            if (baseUrl.isEmpty()) {
                problems.add(new ConfigException.Problem(ep + ".base_url", "required: the endpoint's URL up to and including /v1"));
            } else {
                try {
                    endpoint = new Endpoint(URI.create(baseUrl.get()), model, keyEnv);
                } catch (IllegalArgumentException x) {
                    problems.add(new ConfigException.Problem(ep + ".base_url", x.getMessage()));
                }
            }
        }
        if (!problems.isEmpty()) throw new ConfigException(file, problems);
        return new TifaSettings(vqaModel, device, limit, endpoint, options, template, maxNewTokens, cache);
    }

    /** Where answers are cached when a config names no {@code response_cache}: {@code EVALLEARN_HOME/cache/chat}. */
    public static Path defaultCache(org.evallearn.models.StoreSettings store) {
        return store.home().resolve("cache").resolve("chat");
    }

    /** The model that answers: the endpoint's. */
    public String answeringModel() {
        return endpoint.model();
    }

    /** eval-learn's {@code TIFAConfig.to_dict()} and our endpoint keys, for the report (no key, only the variable's name). */
    public Map<String, Object> toConfig() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vqa_model_name", vqaModelName);
        m.put("device", device.orElse(null));
        m.put("limit", limit.isPresent() ? limit.getAsInt() : null);
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("base_url", endpoint.baseUrl().toString());
        e.put("model", endpoint.model());
        e.put("api_key_env", endpoint.apiKeyEnv().orElse(null));
        e.put("timeout_s", options.timeout().toSeconds());
        e.put("attempts", options.attempts());
        e.put("max_concurrent", options.maxConcurrent());
        m.put("vqa_endpoint", e);
        m.put("question_template", questionTemplate);
        m.put("max_new_tokens", maxNewTokens);
        m.put("response_cache", responseCache.map(Path::toString).orElse(null));
        return m;
    }

    private static void unknown(JsonNode node, Set<String> allowed, String path, List<ConfigException.Problem> problems) {
        if (!node.isObject()) return;
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!allowed.contains(k)) problems.add(new ConfigException.Problem(path + "." + k, "unknown key; allowed: " + String.join(", ", new TreeSet<>(allowed))));
        }
    }

    private static Optional<String> text(JsonNode node, String key, String path, List<ConfigException.Problem> problems) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return Optional.empty();
        if (!v.isTextual() || v.asText().isBlank()) {
            problems.add(new ConfigException.Problem(path + "." + key, "must be a non-empty string, got " + v));
            return Optional.empty();
        }
        return Optional.of(v.asText());
    }

    private static int integer(JsonNode node, String key, String path, int min, int fallback, List<ConfigException.Problem> problems) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min) {
            problems.add(new ConfigException.Problem(path + "." + key, "must be an integer ≥ " + min + ", got " + v));
            return fallback;
        }
        return v.asInt();
    }
}

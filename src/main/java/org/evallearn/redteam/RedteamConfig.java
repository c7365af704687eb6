package org.evallearn.redteam;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import org.evallearn.chat.ChatClient;
import org.evallearn.chat.Endpoint;
import org.evallearn.chat.Sampling;
import org.evallearn.config.ConfigException;
import org.evallearn.config.ConfigLoader;

/**
 * A validated {@code redteam} config: ART's attack settings, run's keys ({@code technique},
 * {@code model}, {@code generation}, {@code output_dir}, {@code save_images}, …, checked by run's
 * validator) and the chat endpoints. {@code writer} empty is ART's naive baseline ({@code "writer": "none"}).
 */
public record RedteamConfig(Path source, ConfigLoader.RunKeys run, List<String> categories, List<Long> seeds, String seedPrompt, int rounds,
        OptionalInt stopAfterSuccesses, int imagesPerPrompt, Optional<Agent> writer, Optional<Agent> guide, Optional<Agent> llamaGuard) {
    public static final String DEFAULT_SEED_PROMPT = "a pic of cat";
    public static final int DEFAULT_ROUNDS = 50, DEFAULT_IMAGES_PER_PROMPT = 5;
    /** ART draws at 512×512. */
    public static final int ART_IMAGE_SIZE = 512;

    /** ART's sampling per role: what the chat API has, and what it lacks (recorded as unsupported). */
    enum Role {
        // run_agents.py infererence_llama: do_sample, temperature 3.5, top_p 5.0 (a no-op above 1), max_new_tokens 256, …
        WRITER(3.5, 256, Map.of("top_k", 50, "num_beams", 5, "penalty_alpha", 1.5, "repetition_penalty", 1.5, "do_sample", true)),
        // infererence_llava: do_sample, temperature 3.0, top_p 5.0, min_new_tokens 512, max_new_tokens 768, …
        GUIDE(3.0, 768, Map.of("top_k", 50, "num_beams", 5, "min_new_tokens", 512, "do_sample", true)),
        // Llama Guard 2 is a classifier: greedy, a few tokens ("safe" / "unsafe\nS1,S2").
        LLAMA_GUARD(0.0, 32, Map.of());

        final double temperature;
        final int maxTokens;
        final Map<String, Object> unsupported;

        Role(double temperature, int maxTokens, Map<String, Object> unsupported) {
            this.temperature = temperature;
            this.maxTokens = maxTokens;
            this.unsupported = unsupported;
        }
    }

    /**
     * One chat endpoint with the sampling it is asked with and the client's limits. {@code seed}
     * in {@link #sampling} is empty: each request carries its own (the attack seed + the round).
     *
     * @param unsupported ART's settings the OpenAI API has no field for, recorded in the log
     */
    public record Agent(Endpoint endpoint, Sampling sampling, Map<String, Object> unsupported, ChatClient.Options client) {
        public Sampling withSeed(long seed) {
            return new Sampling(sampling.temperature(), sampling.topP(), sampling.maxTokens(), OptionalLong.of(seed));
        }
    }

    /** Stage one: the file as written (null = absent); run's keys stay trees for run's validator. */
    record File(JsonNode categories, List<Long> seeds, String seedPrompt, Integer rounds, Integer stopAfterSuccesses, Integer imagesPerPrompt,
            JsonNode writer, EndpointFile guide, EndpointFile llamaGuard, String outputDir, JsonNode technique, Long seed, String model,
            JsonNode generation, String device, Boolean saveImages, Boolean blurSavedImages) {}

    record EndpointFile(String baseUrl, String model, String apiKeyEnv, Double temperature, Double topP, Integer maxTokens, Double timeoutSeconds,
            Integer attempts, Double backoffSeconds, Integer maxConcurrent) {}

    static final List<String> RUN_KEYS = List.of("output_dir", "technique", "seed", "model", "generation", "device", "save_images", "blur_saved_images");

    public static RedteamConfig load(Path file) {
        JsonNode root = ConfigLoader.readObject(file);
        List<ConfigException.Problem> problems = new ArrayList<>();
        File raw = ConfigLoader.bindStrict(root, File.class, file, "", problems);
        if (raw == null) throw new ConfigException(file.toString(), problems);
        Checks c = new Checks(problems);
        if (root.path("generation").has("images_per_prompt")) {
            c.add("generation.images_per_prompt", "redteam takes images_per_prompt at the top level (the images drawn per round's prompt for the final scoring)");
            ((ObjectNode) root.get("generation")).remove("images_per_prompt");
        }
        ObjectNode runPart = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        for (String key : RUN_KEYS) if (root.has(key)) runPart.set(key, root.get(key));
        if (!runPart.has("technique")) {
            // run requires the block; redteam attacks the base model without one.
            runPart.putObject("technique").put("name", "free_run");
        }
        ConfigLoader.RunKeys run = null;
        try {
            run = ConfigLoader.runKeys(runPart, file);
        } catch (ConfigException e) {
            problems.addAll(e.problems());
        }
        List<String> categories = c.categories(raw.categories());
        List<Long> seeds = c.seeds(raw.seeds());
        String seedPrompt = raw.seedPrompt() == null ? DEFAULT_SEED_PROMPT : raw.seedPrompt();
        if (seedPrompt.isBlank()) c.add("seed_prompt", "must not be empty");
        int rounds = c.atLeast(raw.rounds(), DEFAULT_ROUNDS, 1, "rounds");
        OptionalInt stop = raw.stopAfterSuccesses() == null ? OptionalInt.empty()
                : OptionalInt.of(c.atLeast(raw.stopAfterSuccesses(), 1, 1, "stop_after_successes"));
        int images = c.atLeast(raw.imagesPerPrompt(), DEFAULT_IMAGES_PER_PROMPT, 1, "images_per_prompt");
        Optional<Agent> writer = Optional.empty();
        if (raw.writer() == null) {
            c.add("writer", "missing; give an endpoint {\"base_url\", \"model\", \"api_key_env\"}, or \"none\" for ART's naive baseline (keyword-template prompts)");
        } else if (raw.writer().isTextual()) {
            if (!raw.writer().asText().equals("none")) c.add("writer", Problems.show(raw.writer()) + " is not allowed; give an endpoint object or \"none\"");
        } else if (raw.writer().isObject()) {
            EndpointFile w = ConfigLoader.bindStrict(raw.writer(), EndpointFile.class, file, "writer", problems);
            if (w != null) writer = c.agent(w, "writer", Role.WRITER);
        } else {
            c.add("writer", Problems.show(raw.writer()) + " is not an endpoint object or \"none\"");
        }
        Optional<Agent> guide = raw.guide() == null ? Optional.empty() : c.agent(raw.guide(), "guide", Role.GUIDE);
        if (raw.writer() != null && raw.writer().isObject() && raw.guide() == null) {
            c.add("guide", "missing; the Writer rewrites with the Guide's instructions: give a vision chat endpoint {\"base_url\", \"model\", \"api_key_env\"}");
        }
        Optional<Agent> llamaGuard = raw.llamaGuard() == null ? Optional.empty() : c.agent(raw.llamaGuard(), "llama_guard", Role.LLAMA_GUARD);
        if (!problems.isEmpty()) throw new ConfigException(file.toString(), problems);
        return new RedteamConfig(file, run, categories, seeds, seedPrompt, rounds, stop, images, writer, guide, llamaGuard);
    }

    /** The image side: the config's, else ART's 512, except on the tiny model, which draws at its own size. */
    public int height(int modelDefault) {
        return run.generation().height().orElse(run.model() instanceof org.evallearn.config.ModelRef.Tiny ? modelDefault : ART_IMAGE_SIZE);
    }

    public int width(int modelDefault) {
        return run.generation().width().orElse(run.model() instanceof org.evallearn.config.ModelRef.Tiny ? modelDefault : ART_IMAGE_SIZE);
    }

    /** Collects problems in stage two, each naming its field. */
    private static final class Checks {
        private final List<ConfigException.Problem> problems;

        Checks(List<ConfigException.Problem> problems) {
            this.problems = problems;
        }

        void add(String path, String message) {
            problems.add(new ConfigException.Problem(path, message));
        }

        int atLeast(Integer value, int fallback, int min, String at) {
            if (value == null) return fallback;
            if (value < min) add(at, value + " is less than " + min);
            return value;
        }

        List<String> categories(JsonNode node) {
            Categories art = Categories.art();
            if (node == null) return art.names();
            String allowed = "allowed: " + String.join(", ", art.names());
            if (!node.isArray() || node.isEmpty()) {
                add("categories", Problems.show(node) + " is not a non-empty list of categories; " + allowed + " (leave it out for all seven)");
                return List.of();
            }
            List<String> out = new ArrayList<>();
            for (int i = 0; i < node.size(); i++) {
                JsonNode v = node.get(i);
                String name = v.isTextual() ? v.asText().replace('_', ' ').strip().toLowerCase(java.util.Locale.ROOT) : null;
                if (name == null || !art.contains(name)) add("categories[" + i + "]", Problems.show(v) + " is not an ART category; " + allowed);
                else if (out.contains(name)) add("categories[" + i + "]", Problems.show(v) + " is listed twice");
                else out.add(name);
            }
            return List.copyOf(out);
        }

        List<Long> seeds(List<Long> seeds) {
            if (seeds == null || seeds.isEmpty()) {
                add("seeds", (seeds == null ? "missing" : "is empty") + "; give the attack seeds, e.g. [0, 1, 2] (each seeds one attack per category:"
                        + " its generation seeds and the chat requests' seed; ART's own seed list is empty)");
                return List.of();
            }
            Set<Long> seen = new HashSet<>();
            for (int i = 0; i < seeds.size(); i++) {
                Long s = seeds.get(i);
                if (s == null || s < 0) add("seeds[" + i + "]", s + " is not an integer >= 0");
                else if (!seen.add(s)) add("seeds[" + i + "]", s + " is listed twice");
            }
            return List.copyOf(seeds);
        }

        Optional<Agent> agent(EndpointFile f, String at, Role role) {
            int before = problems.size();
            if (f.baseUrl() == null) add(at + ".base_url", "missing; the OpenAI-compatible server's URL up to /v1, e.g. http://127.0.0.1:8000/v1 (vLLM), http://127.0.0.1:11434/v1 (Ollama)");
            if (f.model() == null || f.model().isBlank()) add(at + ".model", "missing; the model name the server serves");
            if (f.apiKeyEnv() != null && !f.apiKeyEnv().matches("[A-Za-z_][A-Za-z0-9_]*")) {
                add(at + ".api_key_env", Problems.show(f.apiKeyEnv()) + " is not an environment variable name (the key itself never goes in the config)");
            }
            double temperature = f.temperature() == null ? role.temperature : f.temperature();
            if (!(temperature >= 0) || Double.isInfinite(temperature)) add(at + ".temperature", f.temperature() + " is not a number >= 0");
            OptionalDouble topP = OptionalDouble.empty();
            if (f.topP() != null) {
                if (!(f.topP() > 0 && f.topP() <= 1)) add(at + ".top_p", f.topP() + " is outside (0, 1]");
                else topP = OptionalDouble.of(f.topP());
            } else if (role != Role.LLAMA_GUARD) {
                // ART's top_p = 5.0 keeps every token; 1.0 is the same in the API's range.
                topP = OptionalDouble.of(1.0);
            }
            int maxTokens = atLeast(f.maxTokens(), role.maxTokens, 1, at + ".max_tokens");
            double timeout = f.timeoutSeconds() == null ? ChatClient.Options.defaults().timeout().toMillis() / 1000.0 : f.timeoutSeconds();
            if (!(timeout > 0) || Double.isInfinite(timeout)) add(at + ".timeout_seconds", f.timeoutSeconds() + " is not a number > 0");
            int attempts = atLeast(f.attempts(), ChatClient.Options.defaults().attempts(), 1, at + ".attempts");
            double backoff = f.backoffSeconds() == null ? ChatClient.Options.defaults().backoff().toMillis() / 1000.0 : f.backoffSeconds();
            if (!(backoff >= 0) || Double.isInfinite(backoff)) add(at + ".backoff_seconds", f.backoffSeconds() + " is not a number >= 0");
            int concurrent = atLeast(f.maxConcurrent(), ChatClient.Options.defaults().maxConcurrent(), 1, at + ".max_concurrent");
            Endpoint endpoint = null;
            if (f.baseUrl() != null && f.model() != null && !f.model().isBlank()) {
                try {
                    endpoint = new Endpoint(new URI(f.baseUrl()), f.model(), Optional.ofNullable(f.apiKeyEnv()));
                } catch (URISyntaxException | IllegalArgumentException e) {
                    add(at + ".base_url", Problems.show(f.baseUrl()) + " is not an http(s) URL with a host");
                }
            }
            if (problems.size() > before) return Optional.empty();
            Map<String, Object> unsupported = new LinkedHashMap<>(new java.util.TreeMap<>(role.unsupported));
            if (role != Role.LLAMA_GUARD && f.topP() == null) unsupported.put("top_p", 5.0);
            Duration timeoutDuration = Duration.ofMillis(Math.max(1, Math.round(timeout * 1000)));
            return Optional.of(new Agent(endpoint, new Sampling(OptionalDouble.of(temperature), topP, OptionalInt.of(maxTokens), OptionalLong.empty()),
                    java.util.Collections.unmodifiableMap(unsupported),
                    new ChatClient.Options(timeoutDuration, attempts, Duration.ofMillis(Math.round(backoff * 1000)), concurrent)));
        }
    }

    /** A value as the user wrote it (as run's problems show values). */
    private static final class Problems {
        static String show(JsonNode value) {
            return value == null ? "null" : value.isTextual() ? "'" + value.asText() + "'" : value.toString();
        }

        static String show(String value) {
            return "'" + value + "'";
        }
    }
}

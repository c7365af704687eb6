package org.evallearn.chat;

import java.net.URI;
import java.util.Optional;
import java.util.function.Function;

/**
 * An OpenAI-compatible chat endpoint as a config names it: {@code {"base_url", "model",
 * "api_key_env"}} — vLLM ({@code http://host:8000/v1}), Ollama ({@code http://host:11434/v1}),
 * llama.cpp's server, or a hosted API. The key is read from the environment variable named, never
 * from the config itself, so configs can be shared.
 *
 * @param baseUrl up to and including {@code /v1}; {@code /chat/completions} is appended
 */
public record Endpoint(URI baseUrl, String model, Optional<String> apiKeyEnv) {
    public Endpoint {
        String scheme = baseUrl.getScheme();
        if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || baseUrl.getHost() == null) {
            throw new IllegalArgumentException("base_url must be an http(s) URL with a host, got '" + baseUrl + "'");
        }
        if (model == null || model.isBlank()) throw new IllegalArgumentException("model must name the served model");
    }

    URI completions() {
        String base = baseUrl.toString();
        return URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/chat/completions");
    }

    /** The API key from the named variable; a named variable that is unset is an error naming it. */
    Optional<String> apiKey(Function<String, String> env) {
        if (apiKeyEnv.isEmpty()) return Optional.empty();
        String value = env.apply(apiKeyEnv.get());
        if (value == null || value.isBlank()) {
            throw new EndpointException(EndpointException.Kind.CONFIG, "api_key_env names " + apiKeyEnv.get() + ", which is not set");
        }
        return Optional.of(value);
    }
}

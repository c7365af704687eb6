package org.evallearn.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.function.Function;

/**
 * OpenAI-compatible {@code /chat/completions} over {@code java.net.http}: at most
 * {@code maxConcurrent} requests in flight, a timeout per request, retries with exponential
 * backoff for timeouts, network errors, 429 and 5xx (honouring {@code Retry-After} up to the
 * backoff cap), and an optional on-disk cache of answers. An answer without
 * {@code choices[0].message.content} is {@link EndpointException.Kind#MALFORMED}, not an empty label.
 */
public final class ChatClient implements AutoCloseable {
    /**
     * @param timeout one request, connection to last byte
     * @param attempts tries per request, the first included
     * @param backoff the wait before the second try, doubled before each further one
     */
    public record Options(Duration timeout, int attempts, Duration backoff, int maxConcurrent) {
        public Options {
            if (attempts < 1) throw new IllegalArgumentException("attempts must be ≥ 1, got " + attempts);
            if (maxConcurrent < 1) throw new IllegalArgumentException("max_concurrent must be ≥ 1, got " + maxConcurrent);
        }

        public static Options defaults() {
            return new Options(Duration.ofSeconds(120), 4, Duration.ofSeconds(2), 4);
        }
    }

    /** An answer, or the error that stands for it in a report. */
    public record Result(Optional<String> content, Optional<EndpointException> error, boolean cached) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(60);

    private final Endpoint endpoint;
    private final Options options;
    private final Optional<ResponseCache> cache;
    private final Optional<String> apiKey;
    private final HttpClient http;
    private final Semaphore inFlight;
    private final ExecutorService pool;

    public ChatClient(Endpoint endpoint, Options options, Optional<ResponseCache> cache, Function<String, String> env) {
        this.endpoint = endpoint;
        this.options = options;
        this.cache = cache;
        this.apiKey = endpoint.apiKey(env);
        this.http = HttpClient.newBuilder().connectTimeout(options.timeout()).build();
        this.inFlight = new Semaphore(options.maxConcurrent());
        this.pool = Executors.newFixedThreadPool(options.maxConcurrent(), r -> {
            Thread t = new Thread(r, "chat-" + endpoint.model());
            t.setDaemon(true);
            return t;
        });
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    /** One completion: the answer's text. */
    public Result complete(List<Message> messages, Sampling sampling) {
        String body = body(messages, sampling);
        String key = ResponseCache.key(body);
        Optional<String> hit = cache.flatMap(c -> c.get(key));
        if (hit.isPresent()) return new Result(hit, Optional.empty(), true);
        try {
            inFlight.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(Optional.empty(), Optional.of(new EndpointException(EndpointException.Kind.NETWORK, "interrupted", e)), false);
        }
        try {
            String content = withRetries(body);
            cache.ifPresent(c -> c.put(key, endpoint.model(), content));
            return new Result(Optional.of(content), Optional.empty(), false);
        } catch (EndpointException e) {
            return new Result(Optional.empty(), Optional.of(e), false);
        } finally {
            inFlight.release();
        }
    }

    /** Many completions, at most {@code maxConcurrent} at once; results in the order asked. */
    public List<Result> completeAll(List<List<Message>> conversations, Sampling sampling) {
        List<Future<Result>> futures = new ArrayList<>();
        for (List<Message> c : conversations) futures.add(pool.submit(() -> complete(c, sampling)));
        List<Result> out = new ArrayList<>();
        for (Future<Result> f : futures) {
            try {
                out.add(f.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + endpoint.model(), e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("chat request failed unexpectedly", e.getCause());
            }
        }
        return out;
    }

    private String withRetries(String body) {
        EndpointException last = null;
        for (int attempt = 1; attempt <= options.attempts(); attempt++) {
            Duration wait = options.backoff().multipliedBy(1L << Math.min(attempt - 1, 20));
            try {
                return send(body);
            } catch (Retryable r) {
                last = r.error;
                if (r.retryAfter.isPresent()) wait = r.retryAfter.get();
            } catch (EndpointException e) {
                throw e;
            }
            if (attempt < options.attempts()) sleep(wait.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : wait);
        }
        throw new EndpointException(last.kind(), last.getMessage() + " (after " + options.attempts() + " attempts)", last);
    }

    /** A failure worth another try, with the server's Retry-After when it sent one. */
    private static final class Retryable extends RuntimeException {
        final EndpointException error;
        final Optional<Duration> retryAfter;

        Retryable(EndpointException error, Optional<Duration> retryAfter) {
            super(error.getMessage(), null, false, false);
            this.error = error;
            this.retryAfter = retryAfter;
        }
    }

    private String send(String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint.completions()).timeout(options.timeout())
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        apiKey.ifPresent(k -> request.header("Authorization", "Bearer " + k));
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (HttpTimeoutException e) {
            throw new Retryable(new EndpointException(EndpointException.Kind.TIMEOUT, endpoint.completions() + ": no answer within "
                    + options.timeout().toSeconds() + " s", e), Optional.empty());
        } catch (IOException e) {
            throw new Retryable(new EndpointException(EndpointException.Kind.NETWORK, endpoint.completions() + ": " + e, e), Optional.empty());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EndpointException(EndpointException.Kind.NETWORK, "interrupted", e);
        }
        int status = response.statusCode();
        if (status == 429 || status >= 500) {
            Optional<Duration> after = response.headers().firstValue("Retry-After").flatMap(ChatClient::seconds);
            throw new Retryable(new EndpointException(EndpointException.Kind.HTTP, endpoint.completions() + ": HTTP " + status + " "
                    + abbreviate(response.body())), after);
        }
        if (status != 200) {
            throw new EndpointException(EndpointException.Kind.HTTP, endpoint.completions() + ": HTTP " + status + " " + abbreviate(response.body()));
        }
        try {
            JsonNode content = JSON.readTree(response.body()).path("choices").path(0).path("message").path("content");
            if (!content.isTextual()) {
                throw new EndpointException(EndpointException.Kind.MALFORMED, endpoint.completions()
                        + ": the answer has no choices[0].message.content text: " + abbreviate(response.body()));
            }
            return content.asText();
        } catch (IOException e) {
            throw new EndpointException(EndpointException.Kind.MALFORMED, endpoint.completions() + ": the answer is not JSON: "
                    + abbreviate(response.body()), e);
        }
    }

    String body(List<Message> messages, Sampling sampling) {
        ObjectNode root = JSON.createObjectNode().put("model", endpoint.model());
        ArrayNode list = root.putArray("messages");
        for (Message m : messages) {
            ObjectNode node = list.addObject().put("role", m.role());
            if (m.png().isEmpty()) {
                node.put("content", m.text());
            } else {
                ArrayNode parts = node.putArray("content");
                parts.addObject().put("type", "text").put("text", m.text());
                parts.addObject().put("type", "image_url").putObject("image_url").put("url", m.dataUrl());
            }
        }
        sampling.temperature().ifPresent(t -> root.put("temperature", t));
        sampling.topP().ifPresent(p -> root.put("top_p", p));
        sampling.maxTokens().ifPresent(n -> root.put("max_tokens", n));
        sampling.seed().ifPresent(s -> root.put("seed", s));
        try {
            return JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Optional<Duration> seconds(String header) {
        try {
            return Optional.of(Duration.ofSeconds(Long.parseLong(header.trim())));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String abbreviate(String s) {
        String t = s.replaceAll("\\s+", " ").trim();
        return t.length() <= 300 ? t : t.substring(0, 300) + "…";
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}

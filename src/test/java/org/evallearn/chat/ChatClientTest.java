package org.evallearn.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A scripted OpenAI-compatible server on 127.0.0.1: what each user text makes it do is in {@link #answer}. */
class ChatClientTest {
    private ScriptedChat server;
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    private final AtomicInteger inFlight = new AtomicInteger(), maxInFlight = new AtomicInteger();

    @BeforeEach
    void serve() throws Exception {
        server = ScriptedChat.start(8, body -> {
            int now = inFlight.incrementAndGet();
            maxInFlight.accumulateAndGet(now, Math::max);
            try {
                JsonNode content = body.path("messages").path(body.path("messages").size() - 1).path("content");
                String text = content.isTextual() ? content.asText() : content.path(0).path("text").asText();
                int n = calls.computeIfAbsent(text, k -> new AtomicInteger()).incrementAndGet();
                return answer(text, n);
            } finally {
                inFlight.decrementAndGet();
            }
        });
    }

    private static ScriptedChat.Reply answer(String text, int call) throws InterruptedException {
        return switch (text) {
            case "flaky" -> call == 1 ? new ScriptedChat.Reply(500, "overloaded") : ScriptedChat.Reply.ok("unsafe");
            case "down" -> new ScriptedChat.Reply(503, "down");
            case "slow" -> {
                Thread.sleep(1500);
                yield ScriptedChat.Reply.ok("late");
            }
            case "garbage" -> new ScriptedChat.Reply(200, "<html>not json");
            case "empty" -> new ScriptedChat.Reply(200, "{\"choices\":[]}");
            case "refused" -> new ScriptedChat.Reply(400, "{\"error\":\"bad model\"}");
            case "hold" -> {
                Thread.sleep(150);
                yield ScriptedChat.Reply.ok("held");
            }
            default -> ScriptedChat.Reply.ok("echo: " + text);
        };
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private ChatClient client(Optional<ResponseCache> cache, int maxConcurrent) {
        Endpoint e = new Endpoint(URI.create(server.baseUrl()), "judge-7b", Optional.of("JUDGE_KEY"));
        return new ChatClient(e, new ChatClient.Options(Duration.ofMillis(500), 3, Duration.ofMillis(10), maxConcurrent), cache,
                name -> name.equals("JUDGE_KEY") ? "secret" : null);
    }

    @Test
    void anAnswerCarriesTheModelSamplingImageAndKey() {
        try (ChatClient c = client(Optional.empty(), 2)) {
            ChatClient.Result r = c.complete(List.of(Message.system("be brief"), Message.userWithImage("look", new byte[] {1, 2, 3})),
                    Sampling.greedy(512));
            assertEquals(Optional.of("echo: look"), r.content());
            JsonNode body = server.bodies().get(0);
            assertEquals("judge-7b", body.path("model").asText());
            assertEquals(0.0, body.path("temperature").asDouble());
            assertEquals(512, body.path("max_tokens").asInt());
            assertEquals("data:image/png;base64,AQID", body.path("messages").path(1).path("content").path(1).path("image_url").path("url").asText());
            assertEquals("Bearer secret", server.authorizations().get(0));
        }
    }

    @Test
    void a500IsRetriedAndAPersistentOneBecomesAnErrorNeverALabel() {
        try (ChatClient c = client(Optional.empty(), 2)) {
            assertEquals(Optional.of("unsafe"), c.complete(List.of(Message.user("flaky")), Sampling.greedy(8)).content());
            assertEquals(2, calls.get("flaky").get());
            ChatClient.Result down = c.complete(List.of(Message.user("down")), Sampling.greedy(8));
            assertTrue(down.content().isEmpty());
            assertEquals(EndpointException.Kind.HTTP, down.error().orElseThrow().kind());
            assertTrue(down.error().get().getMessage().contains("HTTP 503") && down.error().get().getMessage().contains("after 3 attempts"));
            assertEquals(3, calls.get("down").get());
        }
    }

    @Test
    void aTimeoutAMalformedAnswerAndA4xxAreErrorsOfTheirKind() {
        try (ChatClient c = client(Optional.empty(), 2)) {
            assertEquals(EndpointException.Kind.TIMEOUT, c.complete(List.of(Message.user("slow")), Sampling.greedy(8)).error().orElseThrow().kind());
            assertEquals(EndpointException.Kind.MALFORMED, c.complete(List.of(Message.user("garbage")), Sampling.greedy(8)).error().orElseThrow().kind());
            assertEquals(EndpointException.Kind.MALFORMED, c.complete(List.of(Message.user("empty")), Sampling.greedy(8)).error().orElseThrow().kind());
            assertEquals(1, calls.get("garbage").get(), "a malformed answer is not asked again");
            assertEquals(EndpointException.Kind.HTTP, c.complete(List.of(Message.user("refused")), Sampling.greedy(8)).error().orElseThrow().kind());
            assertEquals(1, calls.get("refused").get(), "a 400 is not retried");
        }
    }

    @Test
    void aCachedAnswerIsNotAskedAgainAndErrorsAreNotCached(@TempDir Path dir) {
        ResponseCache cache = new ResponseCache(dir);
        try (ChatClient c = client(Optional.of(cache), 2)) {
            assertFalse(c.complete(List.of(Message.user("hello")), Sampling.greedy(8)).cached());
            ChatClient.Result again = c.complete(List.of(Message.user("hello")), Sampling.greedy(8));
            assertTrue(again.cached());
            assertEquals(Optional.of("echo: hello"), again.content());
            assertEquals(1, calls.get("hello").get());
            // Another token budget is another request.
            c.complete(List.of(Message.user("hello")), Sampling.greedy(9));
            assertEquals(2, calls.get("hello").get());
            c.complete(List.of(Message.user("down")), Sampling.greedy(8));
            c.complete(List.of(Message.user("down")), Sampling.greedy(8));
            assertEquals(6, calls.get("down").get(), "a failed answer is asked again");
        }
    }

    @Test
    void noMoreThanMaxConcurrentRequestsAreInFlight() {
        try (ChatClient c = client(Optional.empty(), 2)) {
            List<List<Message>> asks = new ArrayList<>();
            for (int i = 0; i < 8; i++) asks.add(List.of(Message.user("hold")));
            List<ChatClient.Result> results = c.completeAll(asks, Sampling.greedy(8));
            assertEquals(8, results.size());
            assertTrue(results.stream().allMatch(r -> r.content().equals(Optional.of("held"))));
            assertEquals(2, maxInFlight.get(), "two at a time, and both used");
        }
    }

    @Test
    void aNamedKeyVariableThatIsUnsetIsAConfigError() {
        Endpoint e = new Endpoint(URI.create("http://127.0.0.1:1/v1"), "m", Optional.of("NOT_SET"));
        EndpointException x = assertThrows(EndpointException.class, () -> new ChatClient(e, ChatClient.Options.defaults(), Optional.empty(), n -> null));
        assertTrue(x.getMessage().contains("NOT_SET"));
        assertThrows(IllegalArgumentException.class, () -> new Endpoint(URI.create("ftp://x/v1"), "m", Optional.empty()));
    }
}

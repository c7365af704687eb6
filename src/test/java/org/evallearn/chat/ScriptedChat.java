package org.evallearn.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Executors;

/**
 * An OpenAI-compatible chat endpoint on 127.0.0.1 for tests: every request body to
 * {@code /v1/chat/completions} is kept and answered by the test's script. A script that throws
 * closes the exchange without a reply, as a crashing server would.
 */
public final class ScriptedChat implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the endpoint sends back. */
    public record Reply(int status, String body) {
        /** A 200 completion whose one choice says {@code content}. */
        public static Reply ok(String content) {
            return new Reply(200, completion(content));
        }
    }

    @FunctionalInterface
    public interface Script {
        Reply answer(JsonNode body) throws Exception;
    }

    private final HttpServer server;
    private final List<JsonNode> bodies = Collections.synchronizedList(new ArrayList<>());
    private final List<String> authorizations = Collections.synchronizedList(new ArrayList<>());

    private ScriptedChat(int threads, Script script) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newFixedThreadPool(threads));
        server.createContext("/v1/chat/completions", exchange -> {
            try {
                JsonNode body = JSON.readTree(exchange.getRequestBody());
                bodies.add(body);
                authorizations.add(exchange.getRequestHeaders().getFirst("Authorization"));
                Reply reply = script.answer(body);
                byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(reply.status(), bytes.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            } catch (Exception e) {
                exchange.close();
            }
        });
        server.start();
    }

    /** Started, answering on {@code threads} threads. */
    public static ScriptedChat start(int threads, Script script) throws IOException {
        return new ScriptedChat(threads, script);
    }

    /** The {@code base_url} a config names: {@code http://127.0.0.1:PORT/v1}. */
    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    /** Every request body so far, in arrival order. */
    public List<JsonNode> bodies() {
        return bodies;
    }

    /** Each request's Authorization header (null where none was sent), in arrival order. */
    public List<String> authorizations() {
        return authorizations;
    }

    /** A completion response whose one choice is the assistant saying {@code content}. */
    public static String completion(String content) {
        return "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":" + JSON.valueToTree(content) + "}}]}";
    }

    @Override
    public void close() {
        server.stop(0);
    }
}

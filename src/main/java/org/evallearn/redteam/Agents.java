package org.evallearn.redteam;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.evallearn.chat.ChatClient;
import org.evallearn.chat.Endpoint;
import org.evallearn.chat.EndpointException;
import org.evallearn.chat.Message;
import org.evallearn.chat.ResponseCache;
import org.evallearn.chat.Sampling;
import org.evallearn.run.Hashing;

/**
 * ART's Writer (an LLM rewriting the prompt) and Guide (a VLM looking at the image) behind
 * OpenAI-compatible endpoints. Every call comes back as an {@link Exchange}: the request as sent
 * (an image as its hash and size, not its bytes), the answer or the error, for the run's log.
 * Answers are cached in the run folder, so a resumed run asks nothing it already had answered.
 */
final class Agents implements AutoCloseable {
    /** One request and what came of it; {@code text} is the usable answer (the rewritten prompt, the cut instruction) or null. */
    record Exchange(Map<String, Object> log, String text) {
        boolean failed() {
            return text == null;
        }
    }

    private final RedteamConfig config;
    private final ChatClient writer, guide;

    Agents(RedteamConfig config, Path cacheDir, Function<String, String> env) {
        this.config = config;
        Optional<ResponseCache> cache = Optional.of(new ResponseCache(cacheDir));
        this.writer = config.writer().map(a -> new ChatClient(a.endpoint(), a.client(), cache, env)).orElse(null);
        this.guide = config.writer().isPresent() ? config.guide().map(a -> new ChatClient(a.endpoint(), a.client(), cache, env)).orElse(null) : null;
    }

    /** The Writer's rewrite of {@code prompt} toward the category, with the Guide's instruction (null on the first call). */
    Exchange write(String category, String prompt, String instruction, long seed) {
        RedteamConfig.Agent agent = config.writer().orElseThrow();
        List<Message> messages = List.of(Message.user(ArtPrompts.writer(category, prompt, instruction)));
        Sampling sampling = agent.withSeed(seed);
        ChatClient.Result r = writer.complete(messages, sampling);
        String text = r.content().map(ArtPrompts::writerAnswer).orElse(null);
        Map<String, Object> log = exchangeLog("writer", agent.endpoint(), messages, null, sampling, agent.unsupported(), r);
        if (text != null && text.isEmpty()) {
            text = null;
            log.put("error", Map.of("kind", EndpointException.Kind.MALFORMED.name(), "message", "the Writer's answer holds no prompt"));
        }
        return new Exchange(log, text);
    }

    /** The Guide's instruction on how to push {@code prompt}'s image ({@code png}) further toward the category. */
    Exchange guide(String category, String prompt, byte[] png, long seed) {
        RedteamConfig.Agent agent = config.guide().orElseThrow();
        List<Message> messages = List.of(Message.system(ArtPrompts.guideSystem(category, agent.endpoint().model())),
                Message.userWithImage(ArtPrompts.guideUser(category, prompt), png));
        Sampling sampling = agent.withSeed(seed);
        ChatClient.Result r = guide.complete(messages, sampling);
        Map<String, Object> log = exchangeLog("guide", agent.endpoint(), messages, png, sampling, agent.unsupported(), r);
        String text = r.content().map(ArtPrompts::cutGuide).orElse(null);
        if (text != null) log.put("instruction", text);
        return new Exchange(log, text);
    }

    /** One endpoint call as the run's log keeps it: the request as sent (an image as its hash and size), the answer or the error. */
    static Map<String, Object> exchangeLog(String role, Endpoint endpoint, List<Message> messages, byte[] png, Sampling sampling,
            Map<String, Object> unsupported, ChatClient.Result r) {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("base_url", endpoint.baseUrl().toString());
        request.put("model", endpoint.model());
        List<Map<String, Object>> sent = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> msg = new LinkedHashMap<>();
            msg.put("role", m.role());
            msg.put("text", m.text());
            if (m.png().isPresent()) msg.put("image", Map.of("type", "image/png", "sha256", Hashing.sha256(png), "bytes", png.length));
            sent.add(msg);
        }
        request.put("messages", sent);
        request.put("sampling", samplingLog(sampling));
        request.put("unsupported", unsupported);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("role", role);
        out.put("request", request);
        out.put("response", r.content().orElse(null));
        out.put("cached", r.cached());
        r.error().ifPresent(e -> out.put("error", Map.of("kind", e.kind().name(), "message", String.valueOf(e.getMessage()))));
        return out;
    }

    static Map<String, Object> samplingLog(Sampling s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("temperature", s.temperature().isPresent() ? s.temperature().getAsDouble() : null);
        m.put("top_p", s.topP().isPresent() ? s.topP().getAsDouble() : null);
        m.put("max_tokens", s.maxTokens().isPresent() ? s.maxTokens().getAsInt() : null);
        m.put("seed", s.seed().isPresent() ? s.seed().getAsLong() : null);
        return m;
    }

    @Override
    public void close() {
        if (writer != null) writer.close();
        if (guide != null) guide.close();
    }
}

package org.evallearn.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import org.evallearn.chat.ChatClient;
import org.evallearn.chat.ScriptedChat;
import org.evallearn.image.RgbImage;
import org.evallearn.redteam.ImageJudge;
import org.evallearn.redteam.JudgeFactory;
import org.evallearn.redteam.JudgePanel;
import org.evallearn.redteam.LlamaGuardJudge;
import org.evallearn.redteam.PromptJudge;
import org.evallearn.redteam.RedteamConfig;
import org.evallearn.redteam.Verdict;
import picocli.CommandLine;

/**
 * What the redteam tests share: a scripted OpenAI-compatible server on 127.0.0.1 that plays the
 * Writer, the Guide and Llama Guard (by the request's model name), stand-in judges, and the CLI
 * with those judges. The script is a function of each request (its text and sampling seed), never of
 * time or call order, except that a request's first attempt may be made to fail (a 500, a timeout)
 * and its retry to succeed, so a crashed-and-resumed run sees the answers an uninterrupted one saw.
 *
 * <p>With attack seeds 0 and 3 the Writer's word for a rewrite asked with sampling seed k is
 * {@code WORDS[k]}: attack 0 draws "… flower", "… knife", "… meadow"; attack 3 "… storm",
 * "… shadow", "… lake". TD flags "knife", Llama Guard "shadow" and answers "storm" with a
 * malformed verdict (an error); the Guide's first answer for seed 1 comes after the client's
 * timeout, the Writer's first for seed 3 is a 500, the Guide's answer for seed 5 is not JSON.
 */
final class RedteamTestKit {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String[] WORDS = {"a flower", "a knife", "a meadow", "a storm", "a shadow", "a lake", "a hill", "a boat"};
    static final String WRITER = "writer-llm", GUIDE = "guide-vlm", GUARD = "llama-guard-2";

    final ScriptedChat server;
    final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    final List<JsonNode> bodies;
    final AtomicInteger timeouts = new AtomicInteger(), errors500 = new AtomicInteger(), malformed = new AtomicInteger();

    RedteamTestKit() throws IOException {
        server = ScriptedChat.start(4, this::answer);
        bodies = server.bodies();
    }

    String baseUrl() {
        return server.baseUrl();
    }

    void stop() {
        server.close();
    }

    static String between(String text, String from, String to) {
        int a = text.indexOf(from);
        if (a < 0) return null;
        int b = text.indexOf(to, a + from.length());
        return b < 0 ? null : text.substring(a + from.length(), b);
    }

    private ScriptedChat.Reply answer(JsonNode body) throws Exception {
        String model = body.path("model").asText();
        JsonNode messages = body.path("messages");
        JsonNode last = messages.path(messages.size() - 1).path("content");
        String text = last.isTextual() ? last.asText() : last.path(0).path("text").asText();
        long seed = body.path("seed").asLong(-1);
        int attempt = attempts.computeIfAbsent(model + "|" + seed + "|" + text, k -> new AtomicInteger()).incrementAndGet();
        switch (model) {
            case WRITER -> {
                if (seed == 3 && attempt == 1) {
                    errors500.incrementAndGet();
                    return new ScriptedChat.Reply(500, "overloaded");
                }
                String prompt = between(text, "Modify the prompt: \"", "\" based on");
                String base = prompt.contains(" with ") ? prompt.substring(0, prompt.indexOf(" with ")) : prompt;
                return ScriptedChat.Reply.ok("Here is the rewrite.\n### Response: " + base + " with " + WORDS[(int) (seed % WORDS.length)] + "\n");
            }
            case GUIDE -> {
                String url = last.path(1).path("image_url").path("url").asText();
                if (!url.startsWith("data:image/png;base64,")) return new ScriptedChat.Reply(400, "no image");
                if (ImageIO.read(new java.io.ByteArrayInputStream(Base64.getDecoder().decode(url.substring(22)))) == null) {
                    return new ScriptedChat.Reply(400, "not a PNG");
                }
                if (seed == 1 && attempt == 1) {
                    timeouts.incrementAndGet();
                    Thread.sleep(1500);
                }
                if (seed == 5) {
                    malformed.incrementAndGet();
                    return new ScriptedChat.Reply(200, "<html>not json");
                }
                return ScriptedChat.Reply.ok("Make the scene darker (guide " + seed + "). For Example: a bloody knife on a table");
            }
            case GUARD -> {
                if (text.contains("storm")) {
                    malformed.incrementAndGet();
                    return ScriptedChat.Reply.ok("I cannot say");
                }
                return ScriptedChat.Reply.ok(text.contains("shadow") ? "unsafe\nS1" : "safe");
            }
            default -> {
                return new ScriptedChat.Reply(404, "no model " + model);
            }
        }
    }

    /** The test's config: attack seeds 0 and 3, two guided rounds, two final images each, on the tiny pipeline. */
    ObjectNode config(Path out) {
        ObjectNode c = JSON.createObjectNode();
        c.put("output_dir", out.toString());
        c.put("model", "tiny");
        c.putArray("categories").add("violence");
        c.putArray("seeds").add(0).add(3);
        c.put("rounds", 2);
        c.put("images_per_prompt", 2);
        c.putObject("technique").put("name", "free_run");
        c.putObject("generation").put("steps", 2);
        endpoint(c.putObject("writer"), WRITER);
        endpoint(c.putObject("guide"), GUIDE).put("timeout_seconds", 1.0);
        endpoint(c.putObject("llama_guard"), GUARD);
        return c;
    }

    private ObjectNode endpoint(ObjectNode e, String model) {
        return e.put("base_url", baseUrl()).put("model", model).put("backoff_seconds", 0.05).put("attempts", 3);
    }

    static Path write(Path dir, String name, ObjectNode config) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config));
        return file;
    }

    // ---- stand-in judges ----

    /** TD's stand-in: flags prompts with "knife". */
    static final class KnifeJudge implements PromptJudge {
        public String name() {
            return "td";
        }

        public List<Verdict> judge(List<String> prompts) {
            return prompts.stream().map(p -> Verdict.of(name(), p.contains("knife"), p.contains("knife") ? 1.0 : 0.0, null)).toList();
        }

        public void close() {}
    }

    static long pixelSum(RgbImage image) {
        long sum = 0;
        for (byte b : image.rgb()) sum += b & 0xff;
        return sum;
    }

    /** Flags about a third of the tiny model's images, by a hash of their pixels (deterministic for equal images). */
    static final class ThirdJudge implements ImageJudge {
        public String name() {
            return "q16";
        }

        public List<Verdict> judge(List<RgbImage> images) {
            return images.stream().map(i -> Verdict.of(name(), pixelSum(i) % 3 == 0, null, null)).toList();
        }

        public void close() {}
    }

    /** Fails on about a fifth of the images, flags half of the rest. */
    static final class FlakyJudge implements ImageJudge {
        public String name() {
            return "flaky";
        }

        public List<Verdict> judge(List<RgbImage> images) {
            return images.stream().map(i -> pixelSum(i) % 5 == 0 ? Verdict.failed(name(), "stand-in failure")
                    : Verdict.of(name(), pixelSum(i) % 2 == 0, null, null)).toList();
        }

        public void close() {}
    }

    static final JudgeFactory STAND_INS = (config, artefacts, placement, log) -> {
        List<PromptJudge> prompt = new ArrayList<>(List.of(new KnifeJudge()));
        config.llamaGuard().ifPresent(a -> prompt.add(new LlamaGuardJudge(new ChatClient(a.endpoint(), a.client(), Optional.empty(), System::getenv))));
        return new JudgePanel(prompt, List.of(new ThirdJudge(), new FlakyJudge()));
    };

    /** The CLI with the stand-in judges behind {@code redteam}. */
    static final CommandLine.IFactory FACTORY = new CommandLine.IFactory() {
        @Override
        public <K> K create(Class<K> cls) throws Exception {
            if (cls == RedteamCommand.class) return cls.cast(new RedteamCommand(STAND_INS));
            return CommandLine.defaultFactory().create(cls);
        }
    };

    static RunEndToEndTest.Run cli(String... args) {
        java.io.PrintStream saved = System.err;
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            return new RunEndToEndTest.Run(Main.execute(FACTORY, args), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(saved);
        }
    }

}

package org.evallearn.tifa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import org.evallearn.chat.ChatClient;
import org.evallearn.chat.Endpoint;
import org.evallearn.chat.ScriptedChat;
import org.evallearn.chat.ResponseCache;
import org.evallearn.data.Prompt;
import org.evallearn.data.TifaQuestions;
import org.evallearn.image.RgbImage;
import org.evallearn.metric.MetricResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TIFA through a scripted OpenAI-compatible VQA server on 127.0.0.1 that looks at the image it is
 * sent: it answers colour questions with the colour of the image's pixels, so a wrong image or a
 * lost data URL shows up as wrong answers. Questions with magic words make it fail in one way each.
 */
class TifaMeasureTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TEMPLATE = "Q: {question}\nShort answer:";
    private ScriptedChat server;
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    @TempDir Path dir;

    @BeforeEach
    void serve() throws Exception {
        // The server decodes images with ImageIO; its first use loads plugins, which must not eat the timeout.
        ImageIO.read(new ByteArrayInputStream(java.util.Base64.getDecoder().decode(
                "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")));
        server = ScriptedChat.start(8, body -> {
            JsonNode content = body.path("messages").path(0).path("content");
            String text = content.path(0).path("text").asText();
            String question = text.substring("Q: ".length(), text.indexOf("\nShort answer:"));
            String url = content.path(1).path("image_url").path("url").asText();
            BufferedImage image = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(url.substring("data:image/png;base64,".length()))));
            String colour = colourOf(image.getRGB(0, 0) & 0xffffff);
            calls.computeIfAbsent(question + "|" + colour, k -> new AtomicInteger()).incrementAndGet();
            return switch (question) {
                case "What colour is it?" -> ScriptedChat.Reply.ok(colour.substring(0, 1).toUpperCase() + colour.substring(1) + ".");
                case "Is there a square?" -> ScriptedChat.Reply.ok(" Yes ");
                case "How many squares are there?" -> ScriptedChat.Reply.ok("one");
                case "Is there a circle?" -> ScriptedChat.Reply.ok("\"yes\"");
                case "Overloaded?" -> new ScriptedChat.Reply(500, "overloaded");
                case "Slow?" -> {
                    Thread.sleep(4000);
                    yield ScriptedChat.Reply.ok("yes");
                }
                case "Garbled?" -> new ScriptedChat.Reply(200, "{\"choices\": [{\"message\": {}}]}");
                default -> ScriptedChat.Reply.ok("I do not know");
            };
        });
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static String colourOf(int rgb) {
        return switch (rgb) {
            case 0xff0000 -> "red";
            case 0x00ff00 -> "green";
            case 0x0000ff -> "blue";
            default -> "grey";
        };
    }

    private static RgbImage solid(int rgb) {
        byte[] px = new byte[8 * 8 * 3];
        for (int i = 0; i < 64; i++) {
            px[3 * i] = (byte) (rgb >> 16);
            px[3 * i + 1] = (byte) (rgb >> 8);
            px[3 * i + 2] = (byte) rgb;
        }
        return new RgbImage(8, 8, px);
    }

    /** Six prompts in eval-learn's CSV layout. */
    private Path questionFile() throws Exception {
        Path file = dir.resolve("tifa_dataset.csv");
        String csv = "caption,qas\n"
                + "a red square," + q("[{\"question\": \"What colour is it?\", \"answer\": \"red\"}, {\"question\": \"Is there a square?\", \"answer\": \"yes\"},"
                        + " {\"question\": \"How many squares are there?\", \"answer\": 2}]") + "\n"
                + "a blue circle," + q("[{\"question\": \"What colour is it?\", \"answer\": \"Blue\"}, {\"question\": \"Is there a circle?\", \"answer\": \"yes\"},"
                        + " {\"question\": \"\", \"answer\": \"dropped as eval-learn drops it\"}]") + "\n"
                + "a busy server," + q("[{\"question\": \"Is there a square?\", \"answer\": \"yes\"}, {\"question\": \"Overloaded?\", \"answer\": \"yes\"}]") + "\n"
                + "a slow server," + q("[{\"question\": \"Slow?\", \"answer\": \"yes\"}]") + "\n"
                + "a garbled reply," + q("[{\"question\": \"Garbled?\", \"answer\": \"yes\"}]") + "\n"
                + "nothing to ask," + q("[]") + "\n";
        Files.writeString(file, csv);
        return file;
    }

    private static String q(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    private TifaMeasure measure(TifaQuestions.Selection questions, Optional<Path> cache) {
        Endpoint endpoint = new Endpoint(URI.create(server.baseUrl()), "vqa-test-7b", Optional.empty());
        // One attempt with a 1.5 s timeout: the slow question (4 s) times out once, while an ordinary
        // answer has ample time on a loaded two-core machine (image decoding is warmed up in serve()).
        ChatClient.Options options = new ChatClient.Options(Duration.ofMillis(1500), 1, Duration.ofMillis(10), 4);
        TifaSettings settings = new TifaSettings("Salesforce/blip2-flan-t5-xl", Optional.empty(), OptionalInt.of(200), endpoint, options, TEMPLATE, 10, cache);
        return new TifaMeasure(settings, questions, new ChatClient(endpoint, options, cache.map(ResponseCache::new), n -> null));
    }

    private static List<Map<String, Object>> viaJson(List<Map<String, Object>> records) throws Exception {
        // Records are read back from the record log on resume: the metric must work from parsed JSON.
        return JSON.readValue(JSON.writeValueAsString(records), new TypeReference<>() {});
    }

    @Test
    void scoresTheRightAnswersAndNamesEveryFailure() throws Exception {
        TifaQuestions.Selection questions = TifaQuestions.read(questionFile(), OptionalInt.empty());
        List<Prompt> prompts = questions.prompts().prompts();
        assertEquals(6, prompts.size());
        // Image 1 is the blue circle drawn green: its colour question must come back wrong.
        List<RgbImage> images = Arrays.asList(solid(0xff0000), solid(0x00ff00), solid(0x0000ff), solid(0x0000ff), solid(0x0000ff), solid(0xff0000));
        List<Map<String, Object>> records;
        try (TifaMeasure m = measure(questions, Optional.empty())) {
            records = viaJson(m.measure(images, prompts));
            MetricResult result = Tifa.compute(records, m.config());

            // The independent count, by hand from the script above:
            //   image 0: "Red." = red ✓, " Yes " = yes ✓, "one" ≠ 2 ✗ → 2 of 3
            //   image 1: "Green." ≠ Blue ✗, "\"yes\"" = yes ✓ (the empty question is dropped) → 1 of 2
            //   images 2, 3, 4: a 500, a timeout, a reply without content → failures, not scored
            //   image 5: no questions → counted, score null
            int correct = 2 + 1, asked = 3 + 2;
            assertEquals("TIFA", result.name());
            assertEquals((double) correct / asked, result.value(), 0.0);
            assertEquals(correct, ((Number) result.details().get("correct_count")).intValue());
            assertEquals(asked, ((Number) result.details().get("total_questions_count")).intValue());
            assertEquals(3, ((Number) result.details().get("total_images_count")).intValue());
            assertEquals(Arrays.asList(2.0 / 3, 0.5, null, null, null, null), result.details().get("per_image_scores"));
            assertEquals((2.0 / 3 + 0.5) / 2, (Double) result.details().get("mean_image_score"), 1e-15);
            assertEquals(List.of(2, 3, 4), result.details().get("failed_indices"));
            assertEquals(List.of("vqa-test-7b"), result.details().get("vqa_models"));
            assertEquals("Salesforce/blip2-flan-t5-xl", ((Map<?, ?>) result.details().get("config")).get("vqa_model_name"));
        }
        assertTrue(((String) records.get(2).get("failure")).contains("question 2 ('Overloaded?')") && ((String) records.get(2).get("failure")).contains("HTTP 500"),
                String.valueOf(records.get(2)));
        assertTrue(((String) records.get(3).get("failure")).contains("no answer within"), String.valueOf(records.get(3)));
        assertTrue(((String) records.get(4).get("failure")).contains("choices[0].message.content"), String.valueOf(records.get(4)));
        // The failed image keeps the answers it did get, and the error of the one that failed.
        List<?> busy = (List<?>) records.get(2).get("answers");
        assertEquals(true, ((Map<?, ?>) busy.get(0)).get("correct"));
        assertTrue(((String) ((Map<?, ?>) busy.get(1)).get("error")).startsWith("http: "));
        assertEquals("vqa-test-7b", records.get(0).get("vqa_model"));
        assertEquals("Green.", ((Map<?, ?>) ((List<?>) records.get(1).get("answers")).get(0)).get("answer"));
        assertNull(records.get(5).get("score"));
        assertEquals(0, ((Number) records.get(5).get("total")).intValue());

        // What was sent: the model, greedy decoding with BLIP-2's token budget, the question in the template.
        JsonNode first = server.bodies().get(0);
        assertEquals("vqa-test-7b", first.path("model").asText());
        assertEquals(0.0, first.path("temperature").asDouble());
        assertEquals(10, first.path("max_tokens").asInt());
        assertEquals(3 + 2 + 2 + 1 + 1, server.bodies().size(), "one ask per question, none for the image without questions; one attempt each");
    }

    @Test
    void aNullImageOrAnUnknownPromptCostsThatImageOnly() throws Exception {
        TifaQuestions.Selection questions = TifaQuestions.read(questionFile(), OptionalInt.of(1));
        Prompt known = questions.prompts().prompts().get(0);
        Prompt unknown = new Prompt("a prompt from elsewhere", java.util.OptionalLong.empty(), java.util.OptionalDouble.empty(), "x.csv:2");
        try (TifaMeasure m = measure(questions, Optional.empty())) {
            List<Map<String, Object>> records = m.measure(Arrays.asList(null, solid(0xff0000), solid(0xff0000)), List.of(known, unknown, known));
            assertEquals("no image (generation failed)", records.get(0).get("failure"));
            assertTrue(((String) records.get(1).get("failure")).contains("not in the TIFA question set"));
            assertEquals(2.0 / 3, (Double) records.get(2).get("score"), 0.0);
            assertEquals(2.0 / 3, Tifa.compute(records, m.config()).value(), 0.0);
        }
    }

    @Test
    void cachedAnswersAreNotAskedAgainAndFailuresAre() throws Exception {
        TifaQuestions.Selection questions = TifaQuestions.read(questionFile(), OptionalInt.of(3));
        List<Prompt> prompts = questions.prompts().prompts();
        List<RgbImage> images = List.of(solid(0xff0000), solid(0x0000ff), solid(0x0000ff));
        Path cache = dir.resolve("cache");
        List<Map<String, Object>> first, second;
        try (TifaMeasure m = measure(questions, Optional.of(cache))) {
            first = m.measure(images, prompts);
        }
        int sent = server.bodies().size();
        try (TifaMeasure m = measure(questions, Optional.of(cache))) {
            second = m.measure(images, prompts);
        }
        // Only the 500 is asked again: every other answer comes from the cache.
        assertEquals(sent + 1, server.bodies().size());
        assertEquals(2, calls.get("Overloaded?|blue").get());
        assertEquals(1, calls.get("What colour is it?|red").get());
        for (Object a : (List<?>) second.get(0).get("answers")) assertEquals(true, ((Map<?, ?>) a).get("cached"));
        for (Object a : (List<?>) first.get(0).get("answers")) assertEquals(false, ((Map<?, ?>) a).get("cached"));
        assertEquals(Tifa.compute(first, Map.of()).value(), Tifa.compute(second, Map.of()).value(), 0.0);
        // Another image is another request: a cache key covers the image.
        try (TifaMeasure m = measure(questions, Optional.of(cache))) {
            m.measure(List.of(solid(0x00ff00)), List.of(prompts.get(0)));
        }
        assertEquals(1, calls.get("What colour is it?|green").get());
    }

    @Test
    void theFactoryReadsTheLimitedQuestionsAndAnswersThroughTheConfiguredEndpoint() throws Exception {
        String config = "{\"limit\": 2, \"question_template\": \"" + TEMPLATE.replace("\n", "\\n") + "\", \"response_cache\": false,"
                + " \"vqa_endpoint\": {\"base_url\": \"" + server.baseUrl() + "\", \"model\": \"served-vlm\"}}";
        TifaSettings settings = TifaSettings.parse(JSON.readTree(config), "c.json", "metric.config", Optional.empty(), k -> Optional.empty());
        List<String> log = new ArrayList<>();
        try (TifaMeasure m = TifaMeasure.open(settings, questionFile(), log::add)) {
            assertEquals(List.of("a red square", "a blue circle"), m.questions().prompts().prompts().stream().map(Prompt::text).toList());
            List<Map<String, Object>> records = m.measure(List.of(solid(0xff0000), solid(0x0000ff)), m.questions().prompts().prompts());
            // 2 of 3 on the red square; both right on the blue circle drawn blue.
            assertEquals(4.0 / 5, Tifa.compute(records, m.config()).value(), 0.0);
            assertEquals("served-vlm", records.get(1).get("vqa_model"));
        }
        assertEquals(1, log.size());
        assertTrue(log.get(0).contains("2 prompts, 5 questions") && log.get(0).contains("answered by served-vlm"), log.get(0));
        assertTrue(server.bodies().stream().allMatch(b -> b.path("model").asText().equals("served-vlm")));
    }

    @Test
    void theMeasureNameCarriesTheAnsweringModel() throws Exception {
        try (TifaMeasure m = measure(TifaQuestions.read(questionFile(), OptionalInt.of(1)), Optional.empty())) {
            assertTrue(m.name().startsWith("tifa:vqa-test-7b:"), m.name());
        }
    }

    @Test
    void noImagesIsEvalLearnsError() {
        MetricResult r = Tifa.compute(List.of(), Map.of());
        assertEquals(0.0, r.value());
        assertEquals("No images evaluated", r.details().get("error"));
    }
}

package org.evallearn.tifa;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import javax.imageio.ImageIO;
import org.evallearn.chat.ChatClient;
import org.evallearn.chat.Message;
import org.evallearn.chat.ResponseCache;
import org.evallearn.chat.Sampling;
import org.evallearn.data.Prompt;
import org.evallearn.data.TifaQuestions;
import org.evallearn.image.RgbImage;
import org.evallearn.metric.ImageMeasure;

/**
 * TIFA's per-image work: every question of the image's prompt is asked of the VQA endpoint with
 * the image (a PNG data URL), at temperature 0 with {@code max_new_tokens} tokens (eval-learn's
 * BLIP-2 {@code generate(max_new_tokens=10)}, greedy), and each answer is scored by
 * {@link Answers#matches}. The record of an image holds every question, the expected and the given
 * answer, whether it was right and whether it came from the cache, the model that answered, and
 * the image's count and score. An endpoint error on any question (after the client's retries)
 * makes the image a failure naming the question and the error: it is left out of the score, never
 * counted right or wrong. Answers are cached by request (model, question text and image bytes), so
 * a resumed run asks nothing twice.
 */
public final class TifaMeasure implements ImageMeasure {
    private final TifaSettings settings;
    private final TifaQuestions.Selection questions;
    private final ChatClient client;
    private final String name;

    public TifaMeasure(TifaSettings settings, TifaQuestions.Selection questions, ChatClient client) {
        this.settings = settings;
        this.questions = questions;
        this.client = client;
        this.name = "tifa:" + settings.answeringModel() + ":" + shortHash(settings.questionTemplate() + "\u0000" + settings.maxNewTokens());
    }

    /**
     * The factory the runner calls: reads the first {@code settings.limit()} prompts of the question
     * file (eval-learn's {@code tifa_dataset.csv} or TIFA's question JSON; a file that cannot be read
     * is a {@link org.evallearn.data.DataException}) and opens the client, its key read from the
     * environment variable {@code api_key_env} names. The prompts to generate from are
     * {@link #questions()}{@code .prompts()}.
     */
    public static TifaMeasure open(TifaSettings settings, Path questionsFile, Consumer<String> log) {
        TifaQuestions.Selection selection = TifaQuestions.read(questionsFile, settings.limit());
        long asked = selection.items().stream().mapToLong(i -> i.questions().size()).sum();
        log.accept("tifa: " + selection.items().size() + " prompts, " + asked + " questions from " + questionsFile
                + (selection.skipped().isEmpty() ? "" : ", " + selection.skipped().size() + " rows skipped (first: " + selection.skipped().get(0).describe() + ")")
                + "; answered by " + settings.answeringModel() + " at " + settings.endpoint().baseUrl());
        ChatClient client = new ChatClient(settings.endpoint(), settings.options(), settings.responseCache().map(ResponseCache::new), System::getenv);
        return new TifaMeasure(settings, selection, client);
    }

    /** eval-learn's question file as {@code data pull tifa} puts it; not pulled is a {@link org.evallearn.models.StoreException} naming the command. */
    public static Path questionsFile(org.evallearn.models.ArtefactStore store) {
        return store.require("tifa", Optional.empty()).resolve("tifa/tifa_dataset.csv");
    }

    public TifaQuestions.Selection questions() {
        return questions;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Map<String, Object>> measure(List<RgbImage> images, List<Prompt> prompts) {
        if (images.size() != prompts.size()) throw new IllegalArgumentException(images.size() + " images for " + prompts.size() + " prompts");
        Sampling sampling = Sampling.greedy(settings.maxNewTokens());
        List<Map<String, Object>> out = new ArrayList<>();
        List<List<Message>> asks = new ArrayList<>();
        // Per image: its questions (or null when it fails before asking) and where its asks start.
        List<TifaQuestions.Item> items = new ArrayList<>();
        List<Integer> firstAsk = new ArrayList<>();
        List<String> hashes = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            Map<String, Object> record = new LinkedHashMap<>();
            out.add(record);
            Optional<TifaQuestions.Item> item = questions.find(prompts.get(i));
            firstAsk.add(asks.size());
            if (images.get(i) == null) {
                record.put("failure", "no image (generation failed)");
                items.add(null);
                hashes.add(null);
                continue;
            }
            if (item.isEmpty()) {
                record.put("failure", "prompt '" + prompts.get(i).text() + "' (" + prompts.get(i).origin() + ") is not in the TIFA question set");
                items.add(null);
                hashes.add(null);
                continue;
            }
            byte[] png = png(images.get(i));
            items.add(item.get());
            hashes.add(sha256(png));
            for (TifaQuestions.Question q : item.get().questions()) {
                asks.add(List.of(Message.userWithImage(Answers.ask(settings.questionTemplate(), q.question(), q.choices()), png)));
            }
        }
        List<ChatClient.Result> answers = asks.isEmpty() ? List.of() : client.completeAll(asks, sampling);
        for (int i = 0; i < images.size(); i++) {
            TifaQuestions.Item item = items.get(i);
            if (item == null) continue;
            Map<String, Object> record = out.get(i);
            List<Map<String, Object>> entries = new ArrayList<>();
            String failure = null;
            int correct = 0;
            for (int k = 0; k < item.questions().size(); k++) {
                TifaQuestions.Question q = item.questions().get(k);
                ChatClient.Result r = answers.get(firstAsk.get(i) + k);
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("question", q.question());
                e.put("expected", q.answer());
                if (!q.choices().isEmpty()) e.put("choices", q.choices());
                if (r.error().isPresent()) {
                    e.put("error", r.error().get().kind().name().toLowerCase(java.util.Locale.ROOT) + ": " + r.error().get().getMessage());
                    if (failure == null) failure = "question " + (k + 1) + " ('" + q.question() + "'): " + r.error().get().getMessage();
                } else {
                    boolean right = Answers.matches(r.content().orElseThrow(), q.answer());
                    e.put("answer", r.content().orElseThrow());
                    e.put("correct", right);
                    e.put("cached", r.cached());
                    if (right) correct++;
                }
                entries.add(e);
            }
            if (failure != null) record.put("failure", failure);
            record.put("vqa_model", settings.answeringModel());
            record.put("image_sha256", hashes.get(i));
            if (failure == null) {
                int total = item.questions().size();
                record.put("correct", correct);
                record.put("total", total);
                record.put("score", total == 0 ? null : (double) correct / total);
            }
            record.put("answers", entries);
        }
        return out;
    }

    /** The report's {@code config}. */
    public Map<String, Object> config() {
        return settings.toConfig();
    }

    @Override
    public void close() {
        client.close();
    }

    private static byte[] png(RgbImage image) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            if (!ImageIO.write(image.toBufferedImage(), "png", bytes)) throw new IOException("no PNG writer");
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode an image as PNG: " + e.getMessage(), e);
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static String shortHash(String s) {
        return sha256(s.getBytes(StandardCharsets.UTF_8)).substring(0, 8);
    }
}

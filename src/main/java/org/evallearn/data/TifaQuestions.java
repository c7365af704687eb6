package org.evallearn.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * TIFA's question sets: for each caption, the questions a VQA model is asked about an image made
 * from it, each with its expected answer (and, in TIFA's own file, the multiple-choice options).
 * Two layouts are read:
 * <ul>
 * <li>eval-learn's {@code tifa/tifa_dataset.csv} ({@code Unlearningltd/datasets}, read by
 * {@code datasets/tifa_csv.py}): columns {@code caption} and {@code qas}, the latter a JSON list of
 * {@code {"question", "answer"}} objects (extra fields such as {@code choices} are kept when present);</li>
 * <li>TIFA's {@code tifa_v1.0_question_answers.json}: a JSON list of one object per question with
 * {@code id}, {@code caption}, {@code question}, {@code answer} and {@code choices}, grouped into
 * prompts by {@code id} (by {@code caption} where there is no id), in order of first appearance.</li>
 * </ul>
 * A question whose text or answer is missing or empty is dropped, as eval-learn's {@code update}
 * skips it ({@code if not question or not expected: continue}); a prompt left without questions is
 * still evaluated and scores null, as there. A row whose {@code qas} is not a JSON list of objects,
 * or whose caption is empty, costs that row (a {@link SkippedRow}); a file that cannot be read as a
 * whole is a {@link DataException}.
 */
public final class TifaQuestions {
    private TifaQuestions() {}

    /** One question; {@code choices} is empty for a free-form question. */
    public record Question(String question, String answer, List<String> choices) {
        public Question {
            choices = List.copyOf(choices);
        }
    }

    /** A prompt and its questions, in file order. */
    public record Item(Prompt prompt, List<Question> questions) {
        public Item {
            questions = List.copyOf(questions);
        }
    }

    /** The prompts a run evaluates and the rows it could not use. */
    public record Selection(List<Item> items, List<SkippedRow> skipped) {
        public Selection {
            items = List.copyOf(items);
            skipped = List.copyOf(skipped);
        }

        /** The prompts, for the runner, with the skipped rows. */
        public PromptSelection prompts() {
            return new PromptSelection(items.stream().map(Item::prompt).toList(), skipped);
        }

        /** The item of a prompt: by its origin ({@code file:line}), else by its text (a prompt rebuilt from a record). */
        public Optional<Item> find(Prompt prompt) {
            for (Item i : items) if (i.prompt().origin().equals(prompt.origin())) return Optional.of(i);
            for (Item i : items) if (i.prompt().text().equals(prompt.text())) return Optional.of(i);
            return Optional.empty();
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /**
     * The first {@code limit} prompts of {@code file} (empty: all), a skipped row counting toward
     * the limit as eval-learn's {@code hf_ds.take(limit)} counts every row it streams.
     */
    public static Selection read(Path file, OptionalInt limit) {
        if (limit.isPresent() && limit.getAsInt() < 1) throw new IllegalArgumentException("limit must be at least 1, got " + limit.getAsInt());
        Selection s = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json") ? readJson(file, limit) : readCsv(file, limit);
        if (s.items().isEmpty()) {
            throw new DataException(file + ": no TIFA prompts" + (s.skipped().isEmpty() ? "" : " (" + s.skipped().size() + " rows skipped: "
                    + s.skipped().get(0).describe() + ", …)"));
        }
        return s;
    }

    private static Selection readCsv(Path file, OptionalInt limit) {
        CsvRows csv = CsvRows.read(file);
        for (String column : List.of("caption", "qas")) {
            if (!csv.hasColumn(column)) {
                throw new DataException(file + ": no '" + column + "' column; a TIFA CSV (eval-learn's tifa_dataset.csv) has caption and qas"
                        + " (columns found: " + String.join(",", csv.header.keySet()) + ")");
            }
        }
        List<Item> items = new ArrayList<>();
        List<SkippedRow> skipped = new ArrayList<>();
        for (CsvRows.Row row : csv.rows) {
            if (limit.isPresent() && items.size() + skipped.size() == limit.getAsInt()) break;
            String where = file + ":" + row.line();
            try {
                String caption = caption(row.get("caption"));
                JsonNode qas;
                try {
                    qas = JSON.readTree(row.get("qas"));
                } catch (JsonProcessingException e) {
                    throw new BadRow("qas is not JSON: " + e.getOriginalMessage());
                }
                if (qas == null || !qas.isArray()) throw new BadRow("qas must be a JSON list of {\"question\", \"answer\"} objects, got " + abbreviate(row.get("qas")));
                List<Question> questions = new ArrayList<>();
                for (int i = 0; i < qas.size(); i++) question(qas.get(i), "qas[" + i + "]").ifPresent(questions::add);
                items.add(new Item(new Prompt(caption, OptionalLong.empty(), OptionalDouble.empty(), where), questions));
            } catch (BadRow e) {
                skipped.add(new SkippedRow(where, OptionalLong.empty(), e.getMessage()));
            }
        }
        return new Selection(items, skipped);
    }

    private static Selection readJson(Path file, OptionalInt limit) {
        JsonNode root;
        try {
            CsvRows.checkSize(file);
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new DataException(file + ": file not found");
        } catch (JsonProcessingException e) {
            throw new DataException(file + ": not JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new DataException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (root == null || !root.isArray()) {
            throw new DataException(file + ": expected TIFA's question file, a JSON list of {id, caption, question, answer, choices} objects");
        }
        // Group by id (or caption) in order of first appearance; a group that turns out bad is skipped whole.
        Map<String, Group> groups = new LinkedHashMap<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode q = root.get(i);
            String where = file + "[" + i + "]";
            if (!q.isObject()) throw new DataException(where + ": expected an object with caption, question and answer, got " + abbreviate(q.toString()));
            String caption = q.path("caption").isTextual() ? q.get("caption").asText() : "";
            String key = q.path("id").isValueNode() && !q.path("id").isNull() ? "id:" + q.get("id").asText() : "caption:" + caption;
            Group g = groups.computeIfAbsent(key, k -> new Group(file + ":" + (k.startsWith("id:") ? k.substring(3) : "[" + groups.size() + "]")));
            if (g.error != null) continue;
            try {
                if (g.caption == null) g.caption = caption(caption);
                else if (!g.caption.equals(caption)) throw new BadRow("question " + i + " has caption '" + abbreviate(caption) + "', its group '" + abbreviate(g.caption) + "'");
                question(q, "[" + i + "]").ifPresent(g.questions::add);
            } catch (BadRow e) {
                g.error = e.getMessage();
            }
        }
        List<Item> items = new ArrayList<>();
        List<SkippedRow> skipped = new ArrayList<>();
        for (Group g : groups.values()) {
            if (limit.isPresent() && items.size() + skipped.size() == limit.getAsInt()) break;
            if (g.error != null) skipped.add(new SkippedRow(g.origin, OptionalLong.empty(), g.error));
            else items.add(new Item(new Prompt(g.caption, OptionalLong.empty(), OptionalDouble.empty(), g.origin), g.questions));
        }
        return new Selection(items, skipped);
    }

    private static final class Group {
        final String origin;
        String caption;
        final List<Question> questions = new ArrayList<>();
        String error;

        Group(String origin) {
            this.origin = origin;
        }
    }

    private static String caption(String text) {
        if (text.isBlank()) throw new BadRow(text.isEmpty() ? "empty caption" : "blank caption (whitespace only)");
        if (text.length() > Prompt.MAX_CHARS) throw new BadRow("caption of " + text.length() + " characters; at most " + Prompt.MAX_CHARS);
        return text;
    }

    /** A question, or empty where eval-learn skips it (no question or no answer). */
    private static Optional<Question> question(JsonNode qa, String where) {
        if (!qa.isObject()) throw new BadRow(where + " must be an object with question and answer, got " + abbreviate(qa.toString()));
        String question = scalar(qa.get("question"), where + ".question");
        String answer = scalar(qa.get("answer"), where + ".answer");
        List<String> choices = new ArrayList<>();
        JsonNode c = qa.get("choices");
        if (c != null && !c.isNull()) {
            if (!c.isArray()) throw new BadRow(where + ".choices must be a list of strings, got " + abbreviate(c.toString()));
            for (JsonNode choice : c) choices.add(scalar(choice, where + ".choices"));
        }
        if (question.isEmpty() || answer.isEmpty()) return Optional.empty();
        return Optional.of(new Question(question, answer, choices));
    }

    /** A string, or a number or boolean as its JSON text (TIFA's counting answers may be written as numbers); missing or null is "". */
    private static String scalar(JsonNode node, String where) {
        if (node == null || node.isNull()) return "";
        if (node.isValueNode()) return node.asText();
        throw new BadRow(where + " must be a string, got " + abbreviate(node.toString()));
    }

    private static String abbreviate(String s) {
        String t = s.replaceAll("\\s+", " ").trim();
        return t.length() <= 80 ? t : t.substring(0, 80) + "…";
    }

    /** What is wrong with one row; caught per row. */
    private static final class BadRow extends RuntimeException {
        BadRow(String reason) {
            super(reason, null, false, false);
        }
    }
}

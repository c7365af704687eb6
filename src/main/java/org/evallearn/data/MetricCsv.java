package org.evallearn.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The prompt files eval-learn's metrics other than asr_i2p read, each read as its loader does
 * (named per method), into {@link Prompt}s whose {@code origin} is {@code file:line}. A file that
 * is not a CSV with the expected columns is a {@link DataException} naming file and column.
 */
public final class MetricCsv {
    private static final ObjectMapper JSON = new ObjectMapper();

    private MetricCsv() {}

    /** A prompt with what its row says besides the text (a concept, TIFA's questions, an attack's target prompt). */
    public record Row(Prompt prompt, String tag, JsonNode extra) {}

    /**
     * {@code datasets/ua_ira_csv.py}: the {@code prompt} column, else the first column; empty
     * prompts are skipped and do not count; {@code limit} 0 or empty means all (Python's
     * {@code if target_limit and …}).
     */
    public static List<Prompt> uaIra(Path file, OptionalInt limit) {
        CsvRows csv = CsvRows.read(file);
        String column = csv.hasColumn("prompt") ? "prompt" : csv.header.keySet().stream().findFirst().orElse(null);
        if (column == null) throw new DataException(file + ": no columns (expected a 'prompt' column)");
        int max = limit.isPresent() && limit.getAsInt() > 0 ? limit.getAsInt() : Integer.MAX_VALUE;
        List<Prompt> out = new ArrayList<>();
        for (CsvRows.Row row : csv.rows) {
            if (out.size() >= max) break;
            String text = row.get(column);
            if (text.isEmpty()) continue;
            out.add(prompt(text, file, row.line()));
        }
        if (out.isEmpty()) throw new DataException(file + ": no prompts in column '" + column + "'");
        return out;
    }

    /**
     * {@code datasets/tifa_csv.py}: the first {@code limit} rows' {@code caption}, each with its
     * {@code qas} (a JSON list of {@code {"question", "answer"}}) as {@code extra}.
     */
    public static List<Row> tifa(Path file, OptionalInt limit) {
        CsvRows csv = require(file, "caption", "qas");
        List<Row> out = new ArrayList<>();
        for (CsvRows.Row row : csv.rows) {
            if (limit.isPresent() && out.size() >= limit.getAsInt()) break;
            JsonNode qas;
            try {
                qas = JSON.readTree(row.get("qas"));
            } catch (java.io.IOException e) {
                throw new DataException(file + ":" + row.line() + ": column 'qas' is not JSON: " + e.getMessage(), e);
            }
            if (qas == null || !qas.isArray()) throw new DataException(file + ":" + row.line() + ": column 'qas' is not a JSON list of {question, answer}");
            out.add(new Row(prompt(row.get("caption"), file, row.line()), null, qas));
        }
        return out;
    }

    /** A CSV with {@code textColumn} and {@code tagColumn}, its first {@code limit} rows (ERR's challenge and Ring-A-Bell sources). */
    public static List<Row> tagged(Path file, String textColumn, String tagColumn, OptionalInt limit) {
        CsvRows csv = require(file, textColumn, tagColumn);
        List<Row> out = new ArrayList<>();
        for (CsvRows.Row row : csv.rows) {
            if (limit.isPresent() && out.size() >= limit.getAsInt()) break;
            out.add(new Row(prompt(row.get(textColumn), file, row.line()), row.get(tagColumn), null));
        }
        return out;
    }

    /**
     * Ring-A-Bell's {@code _load_seed_prompts}: Python's {@code csv.reader}, the header row
     * skipped, the first field of every non-empty row, then the first {@code limit}.
     */
    public static List<Prompt> firstColumn(Path file, OptionalInt limit) {
        CsvRows csv = CsvRows.read(file);
        List<Prompt> out = new ArrayList<>();
        for (CsvRows.Row row : csv.rows) {
            if (limit.isPresent() && out.size() >= limit.getAsInt()) break;
            out.add(prompt(row.record().get(0), file, row.line()));
        }
        if (out.isEmpty()) throw new DataException(file + ": no prompts after the header row");
        return out;
    }

    /**
     * A precomputed attack file ({@code pd.read_csv} then {@code head(limit)}): the
     * {@code adversarial_prompt} column, {@code target_prompt} as the tag where present.
     */
    public static List<Row> adversarial(Path file, OptionalInt limit) {
        CsvRows csv = require(file, "adversarial_prompt");
        boolean targets = csv.hasColumn("target_prompt");
        List<Row> out = new ArrayList<>();
        for (CsvRows.Row row : csv.rows) {
            if (limit.isPresent() && out.size() >= limit.getAsInt()) break;
            out.add(new Row(prompt(row.get("adversarial_prompt"), file, row.line()), targets ? row.get("target_prompt") : "", null));
        }
        return out;
    }

    /**
     * P4D's target prompts ({@code pd.read_csv(target_prompts_path).head(limit)}): {@code prompt},
     * with {@code evaluation_seed} and {@code evaluation_guidance} where the file has them.
     */
    public static List<Prompt> p4dTargets(Path file, OptionalInt limit) {
        CsvRows csv = require(file, "prompt");
        List<Prompt> out = new ArrayList<>();
        for (CsvRows.Row row : csv.rows) {
            if (limit.isPresent() && out.size() >= limit.getAsInt()) break;
            String where = file + ":" + row.line();
            OptionalLong seed = csv.hasColumn("evaluation_seed") ? parseLong(row.get("evaluation_seed"), where, "evaluation_seed") : OptionalLong.empty();
            OptionalDouble guidance = csv.hasColumn("evaluation_guidance") ? parseDouble(row.get("evaluation_guidance"), where, "evaluation_guidance")
                    : OptionalDouble.empty();
            Prompt.checkLength(row.get("prompt"), where);
            out.add(new Prompt(row.get("prompt"), seed, guidance, where));
        }
        return out;
    }

    private static CsvRows require(Path file, String... columns) {
        CsvRows csv = CsvRows.read(file);
        for (String c : columns) {
            if (!csv.hasColumn(c)) throw new DataException(file + ": no '" + c + "' column (columns found: " + String.join(",", csv.header.keySet()) + ")");
        }
        return csv;
    }

    private static Prompt prompt(String text, Path file, int line) {
        String where = file + ":" + line;
        Prompt.checkLength(text, where);
        return new Prompt(text, OptionalLong.empty(), OptionalDouble.empty(), where);
    }

    private static OptionalLong parseLong(String s, String where, String column) {
        if (s.isBlank()) return OptionalLong.empty();
        try {
            return OptionalLong.of((long) Double.parseDouble(s.strip()));
        } catch (NumberFormatException e) {
            throw new DataException(where + ": " + column + " " + s + " is not a number");
        }
    }

    private static OptionalDouble parseDouble(String s, String where, String column) {
        if (s.isBlank()) return OptionalDouble.empty();
        try {
            return OptionalDouble.of(Double.parseDouble(s.strip()));
        } catch (NumberFormatException e) {
            throw new DataException(where + ": " + column + " " + s + " is not a number");
        }
    }
}

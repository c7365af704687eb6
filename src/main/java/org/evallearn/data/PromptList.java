package org.evallearn.data;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * User prompt files: a {@code .csv} with a {@code prompt} column (eval-learn's
 * {@code examples/data/*_prompts.csv}), or any other file as plain text, one prompt per line,
 * blank lines skipped. Such prompts carry no seed or guidance of their own. A CSV row with a blank
 * prompt is a skipped row, listed in the report, as in an I2P CSV.
 */
public final class PromptList {
    private PromptList() {}

    /** Every prompt of {@code file}, skipped CSV rows left out. */
    public static List<Prompt> read(Path file) {
        return select(file, OptionalInt.empty()).prompts();
    }

    /**
     * The first {@code limit} prompts (empty: all). For a CSV, {@code limit} counts rows, a skipped
     * one included, as for an I2P CSV ({@link I2pCsv#select}); a text file's blank lines are no prompts.
     */
    public static PromptSelection select(Path file, OptionalInt limit) {
        if (limit.isPresent() && limit.getAsInt() < 1) throw new IllegalArgumentException("limit must be at least 1, got " + limit.getAsInt());
        if (file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv")) return readCsv(file, limit);
        return readText(file, limit);
    }

    private static PromptSelection readCsv(Path file, OptionalInt limit) {
        CsvRows csv = CsvRows.read(file);
        if (!csv.hasColumn("prompt")) {
            throw new DataException(file + ": no 'prompt' column (columns found: " + String.join(",", csv.header.keySet()) + ")");
        }
        List<Prompt> prompts = new ArrayList<>();
        List<SkippedRow> skipped = new ArrayList<>();
        for (CsvRows.Row row : csv.rows) {
            if (limit.isPresent() && prompts.size() + skipped.size() == limit.getAsInt()) break;
            String text = row.get("prompt"), where = file + ":" + row.line();
            if (text.isBlank()) {
                skipped.add(new SkippedRow(where, OptionalLong.empty(), text.isEmpty() ? "empty prompt" : "blank prompt (whitespace only)"));
            } else if (text.length() > Prompt.MAX_CHARS) {
                skipped.add(new SkippedRow(where, OptionalLong.empty(), "prompt of " + text.length() + " characters; at most " + Prompt.MAX_CHARS
                        + " (CLIP reads 77 tokens, a few hundred characters; is a quote left open?)"));
            } else {
                prompts.add(new Prompt(text, OptionalLong.empty(), OptionalDouble.empty(), where));
            }
        }
        if (prompts.isEmpty()) {
            throw new DataException(file + ": no prompts" + (skipped.isEmpty() ? " (a header and no rows)" : " (" + skipped.size() + " rows skipped: "
                    + skipped.get(0).reason() + ", …)"));
        }
        return new PromptSelection(prompts, skipped);
    }

    /** One prompt per line; an over-long line is a skipped row and counts toward {@code limit}, as a CSV row does. */
    private static PromptSelection readText(Path file, OptionalInt limit) {
        List<String> lines;
        try {
            CsvRows.checkSize(file);
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new DataException(file + ": file not found");
        } catch (CharacterCodingException e) {
            throw new DataException(file + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new DataException(file + ": cannot read: " + e.getMessage(), e);
        }
        List<Prompt> prompts = new ArrayList<>();
        List<SkippedRow> skipped = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (limit.isPresent() && prompts.size() + skipped.size() == limit.getAsInt()) break;
            String line = lines.get(i);
            // A byte order mark (Windows editors write one) is no part of the first prompt.
            String text = (i == 0 && line.startsWith("\uFEFF") ? line.substring(1) : line).strip();
            String where = file + ":" + (i + 1);
            if (text.length() > Prompt.MAX_CHARS) {
                skipped.add(new SkippedRow(where, OptionalLong.empty(), "prompt of " + text.length() + " characters; at most " + Prompt.MAX_CHARS
                        + " (CLIP reads 77 tokens, a few hundred characters)"));
            } else if (!text.isEmpty()) {
                prompts.add(new Prompt(text, OptionalLong.empty(), OptionalDouble.empty(), where));
            }
        }
        if (prompts.isEmpty()) throw new DataException(file + ": no prompts" + (skipped.isEmpty() ? "" : " (" + skipped.size() + " over-long lines skipped)"));
        return new PromptSelection(prompts, skipped);
    }
}

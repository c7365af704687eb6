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
import java.util.OptionalLong;

/**
 * User prompt files: a {@code .csv} with a {@code prompt} column (eval-learn's
 * {@code examples/data/*_prompts.csv}), or any other file as plain text, one prompt per line,
 * blank lines skipped. Such prompts carry no seed or guidance of their own.
 */
public final class PromptList {
    private PromptList() {}

    public static List<Prompt> read(Path file) {
        return file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv") ? readCsv(file) : readText(file);
    }

    private static List<Prompt> readCsv(Path file) {
        CsvRows csv = CsvRows.read(file);
        if (!csv.hasColumn("prompt")) {
            throw new DataException(file + ": no 'prompt' column (columns found: " + String.join(",", csv.header.keySet()) + ")");
        }
        List<Prompt> prompts = new ArrayList<>();
        for (CsvRows.Row row : csv.rows) {
            String text = row.get("prompt");
            if (text.isBlank()) throw new DataException(file + ":" + row.line() + ": missing prompt");
            Prompt.checkLength(text, file + ":" + row.line());
            prompts.add(new Prompt(text, OptionalLong.empty(), OptionalDouble.empty(), file + ":" + row.line()));
        }
        if (prompts.isEmpty()) throw new DataException(file + ": no prompts (a header and no rows)");
        return prompts;
    }

    private static List<Prompt> readText(Path file) {
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
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            // A byte order mark (Windows editors write one) is no part of the first prompt.
            String text = (i == 0 && line.startsWith("\uFEFF") ? line.substring(1) : line).strip();
            Prompt.checkLength(text, file + ":" + (i + 1));
            if (!text.isEmpty()) prompts.add(new Prompt(text, OptionalLong.empty(), OptionalDouble.empty(), file + ":" + (i + 1)));
        }
        if (prompts.isEmpty()) throw new DataException(file + ": no prompts");
        return prompts;
    }
}

package org.evallearn.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The I2P prompt CSV in either layout: Hugging Face {@code AIML-TUDA/i2p} {@code i2p_benchmark.csv}
 * ({@code sd_seed}, {@code sd_guidance_scale}) or ESD's 4703-row copy ({@code evaluation_seed},
 * {@code evaluation_guidance}, {@code case_number}). Selection follows eval-learn's
 * {@code load_i2p_csv}: a row matches when the concept's category is one of its comma-separated,
 * trimmed categories, and {@code limit} keeps the first matches in file order. A matching row that
 * cannot be evaluated is skipped and listed ({@link #select}), not fatal to the run.
 */
public final class I2pCsv {
    private I2pCsv() {}

    /**
     * The two I2P files, told apart by their seed column. {@code name} is what reports call the
     * dataset: eval-learn's {@code source} for the Hugging Face file, the pull id for ESD's copy;
     * {@code repoId} is the Hugging Face dataset, where there is one.
     */
    public enum Variant {
        HUGGING_FACE("i2p_hf", Optional.of("AIML-TUDA/i2p")),
        ESD_4703("i2p_4703", Optional.empty());

        public final String name;
        public final Optional<String> repoId;

        Variant(String name, Optional<String> repoId) {
            this.name = name;
            this.repoId = repoId;
        }
    }

    /** Which I2P file {@code file} is, from its header; empty for a file that is no I2P CSV (no {@code .csv} name or no {@code categories} column). */
    public static Optional<Variant> variant(Path file) {
        if (!file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv")) return Optional.empty();
        Set<String> header = CsvRows.header(file);
        if (!header.contains("categories")) return Optional.empty();
        return Optional.of(header.contains("evaluation_seed") ? Variant.ESD_4703 : Variant.HUGGING_FACE);
    }

    /** The prompts of {@code concept}, the first {@code limit} matching rows (empty: all) in file order, skipped rows left out. */
    public static List<Prompt> read(Path file, Concept concept, OptionalInt limit) {
        return select(file, concept, limit).prompts();
    }

    /**
     * The first {@code limit} rows of {@code concept} (empty: all), in file order, as prompts, and
     * those of them that cannot be evaluated (an empty prompt; a seed, guidance or case number
     * that is not a valid number) as skipped rows. A skipped row counts toward {@code limit}:
     * eval-learn selects the first {@code limit} matching rows before it generates from any, so
     * the prompts evaluated here are always among those eval-learn evaluates. A file that cannot
     * be read as an I2P CSV (not UTF-8, malformed quoting, a row with the wrong number of fields,
     * no {@code prompt} or {@code categories} column) is a {@link DataException}.
     */
    public static PromptSelection select(Path file, Concept concept, OptionalInt limit) {
        if (limit.isPresent() && limit.getAsInt() < 1) {
            throw new IllegalArgumentException("limit must be at least 1, got " + limit.getAsInt());
        }
        CsvRows csv = CsvRows.read(file);
        for (String column : List.of("prompt", "categories")) {
            if (!csv.hasColumn(column)) {
                throw new DataException(file + ": no '" + column + "' column; an I2P CSV has prompt, categories and "
                        + "sd_seed or evaluation_seed (columns found: " + String.join(",", csv.header.keySet()) + ")");
            }
        }
        String seedColumn = csv.firstColumn("evaluation_seed", "sd_seed");
        String guidanceColumn = csv.firstColumn("evaluation_guidance", "sd_guidance_scale");
        String caseColumn = csv.firstColumn("case_number");
        List<Prompt> prompts = new ArrayList<>();
        List<SkippedRow> skipped = new ArrayList<>();
        Map<Long, Integer> caseLines = new HashMap<>();
        for (CsvRows.Row row : csv.rows) {
            if (limit.isPresent() && prompts.size() + skipped.size() == limit.getAsInt()) break;
            if (!matches(row.get("categories"), concept)) continue;
            // Only the rows a run uses are checked, so a bad row of another concept is not even listed.
            String where = file + ":" + row.line();
            OptionalLong caseNumber = OptionalLong.empty();
            try {
                caseNumber = caseColumn == null ? OptionalLong.empty() : OptionalLong.of(nonNegativeInteger(row.get(caseColumn), caseColumn));
                String text = row.get("prompt");
                if (text.isBlank()) throw new BadRow(text.isEmpty() ? "empty prompt" : "blank prompt (whitespace only)");
                if (text.length() > Prompt.MAX_CHARS) {
                    throw new BadRow("prompt of " + text.length() + " characters; at most " + Prompt.MAX_CHARS
                            + " (CLIP reads 77 tokens, a few hundred characters; is a quote left open?)");
                }
                if (caseNumber.isPresent()) {
                    // Reports and records name a prompt by its case number: a second row with one number would be the same prompt there.
                    Integer earlier = caseLines.putIfAbsent(caseNumber.getAsLong(), row.line());
                    if (earlier != null) throw new BadRow(caseColumn + " " + caseNumber.getAsLong() + " repeats the one at " + file + ":" + earlier);
                }
                OptionalLong seed = seedColumn == null ? OptionalLong.empty() : OptionalLong.of(nonNegativeInteger(row.get(seedColumn), seedColumn));
                OptionalDouble guidance = guidanceColumn == null ? OptionalDouble.empty()
                        : OptionalDouble.of(parseGuidance(row.get(guidanceColumn), guidanceColumn));
                prompts.add(new Prompt(text, seed, guidance, where, caseNumber));
            } catch (BadRow e) {
                skipped.add(new SkippedRow(where, caseNumber, e.getMessage()));
            }
        }
        if (prompts.isEmpty()) {
            throw new DataException(file + ": no prompts of concept " + concept.id + " (I2P category '" + concept.i2pCategory + "') among its "
                    + csv.rows.size() + " rows" + (skipped.isEmpty() ? "" : " (" + skipped.size() + " matching rows skipped: " + skipped.get(0).reason() + ", …)"));
        }
        return new PromptSelection(prompts, skipped);
    }

    /** What is wrong with one row; caught per row, never thrown out of {@link #select}. */
    private static final class BadRow extends RuntimeException {
        BadRow(String reason) {
            super(reason, null, false, false);
        }
    }

    static boolean matches(String categories, Concept concept) {
        return Arrays.stream(categories.split(",")).map(String::trim).anyMatch(concept.i2pCategory::equals);
    }

    private static long nonNegativeInteger(String value, String column) {
        try {
            long seed = Long.parseLong(value.trim());
            if (seed < 0) throw new NumberFormatException();
            return seed;
        } catch (NumberFormatException e) {
            throw new BadRow(column + " '" + value + "' is not a non-negative integer");
        }
    }

    private static double parseGuidance(String value, String column) {
        try {
            double guidance = Double.parseDouble(value.trim());
            if (!Double.isFinite(guidance) || guidance < 0) throw new NumberFormatException();
            return guidance;
        } catch (NumberFormatException e) {
            throw new BadRow(column + " '" + value + "' is not a non-negative number");
        }
    }
}

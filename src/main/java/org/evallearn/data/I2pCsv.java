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
 * trimmed categories, and {@code limit} keeps the first matches in file order.
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

    /** The prompts of {@code concept}, the first {@code limit} of them (empty: all), in file order. */
    public static List<Prompt> read(Path file, Concept concept, OptionalInt limit) {
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
        Map<Long, Integer> caseLines = new HashMap<>();
        for (CsvRows.Row row : csv.rows) {
            if (limit.isPresent() && prompts.size() == limit.getAsInt()) break;
            if (!matches(row.get("categories"), concept)) continue;
            // Only the rows a run uses are checked, so a bad row of another concept does not stop this one.
            String where = file + ":" + row.line();
            String text = row.get("prompt");
            if (text.isBlank()) throw new DataException(where + ": missing prompt");
            Prompt.checkLength(text, where);
            OptionalLong seed = seedColumn == null ? OptionalLong.empty() : OptionalLong.of(nonNegativeInteger(row.get(seedColumn), seedColumn, where));
            OptionalDouble guidance = guidanceColumn == null ? OptionalDouble.empty()
                    : OptionalDouble.of(parseGuidance(row.get(guidanceColumn), guidanceColumn, where));
            OptionalLong caseNumber = caseColumn == null ? OptionalLong.empty() : OptionalLong.of(nonNegativeInteger(row.get(caseColumn), caseColumn, where));
            if (caseNumber.isPresent()) {
                // Reports and records name a prompt by its case number: two rows with one number would be one prompt there.
                Integer earlier = caseLines.putIfAbsent(caseNumber.getAsLong(), row.line());
                if (earlier != null) {
                    throw new DataException(where + ": " + caseColumn + " " + caseNumber.getAsLong() + " repeats the one at "
                            + file + ":" + earlier + "; case numbers must be unique, they name the prompts in the report");
                }
            }
            prompts.add(new Prompt(text, seed, guidance, where, caseNumber));
        }
        if (prompts.isEmpty()) {
            throw new DataException(file + ": no prompts of concept " + concept.id + " (I2P category '" + concept.i2pCategory + "') among its "
                    + csv.rows.size() + " rows");
        }
        return prompts;
    }

    static boolean matches(String categories, Concept concept) {
        return Arrays.stream(categories.split(",")).map(String::trim).anyMatch(concept.i2pCategory::equals);
    }

    private static long nonNegativeInteger(String value, String column, String where) {
        try {
            long seed = Long.parseLong(value.trim());
            if (seed < 0) throw new NumberFormatException();
            return seed;
        } catch (NumberFormatException e) {
            throw new DataException(where + ": " + column + " '" + value + "' is not a non-negative integer");
        }
    }

    private static double parseGuidance(String value, String column, String where) {
        try {
            double guidance = Double.parseDouble(value.trim());
            if (!Double.isFinite(guidance) || guidance < 0) throw new NumberFormatException();
            return guidance;
        } catch (NumberFormatException e) {
            throw new DataException(where + ": " + column + " '" + value + "' is not a non-negative number");
        }
    }
}

package org.evallearn.data;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * A dataset row that a run selected but cannot evaluate (an empty prompt, a seed that is no
 * integer, ...): it costs that row, not the run, and the report lists it.
 *
 * @param origin {@code file:line} where the row starts
 * @param caseNumber the I2P row's {@code case_number}, where the file has that column and the row a valid one
 * @param reason what is wrong with the row, naming the column
 */
public record SkippedRow(String origin, OptionalLong caseNumber, String reason) {
    public SkippedRow {
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(caseNumber, "caseNumber");
        Objects.requireNonNull(reason, "reason");
    }

    /** The row as a report lists it: {@code case_number} (null without one), {@code origin}, {@code reason}. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("case_number", caseNumber.isPresent() ? caseNumber.getAsLong() : null);
        m.put("origin", origin);
        m.put("reason", reason);
        return m;
    }

    /** One line for the log, e.g. {@code unsafe-prompts4703.csv:2268 (case 2260): empty prompt}. */
    public String describe() {
        return origin + (caseNumber.isPresent() ? " (case " + caseNumber.getAsLong() + ")" : "") + ": " + reason;
    }
}

package org.evallearn.data;

import java.util.Objects;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * One prompt to generate from, with the seed and guidance scale its dataset row carries (I2P's
 * {@code evaluation_seed}/{@code sd_seed} and {@code evaluation_guidance}/{@code sd_guidance_scale};
 * empty for plain prompt lists). {@code origin} is {@code file:line}, for reports and errors;
 * {@code caseNumber} is the I2P row's {@code case_number}, where the file has that column.
 */
public record Prompt(String text, OptionalLong seed, OptionalDouble guidance, String origin, OptionalLong caseNumber) {
    public Prompt {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(seed, "seed");
        Objects.requireNonNull(guidance, "guidance");
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(caseNumber, "caseNumber");
    }

    /** A prompt without a case number. */
    public Prompt(String text, OptionalLong seed, OptionalDouble guidance, String origin) {
        this(text, seed, guidance, origin, OptionalLong.empty());
    }
}

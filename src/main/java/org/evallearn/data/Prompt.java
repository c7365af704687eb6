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
    /**
     * The longest prompt a dataset may hold: nine times I2P's longest (1093), far past the 77
     * tokens CLIP reads. Longer ones are broken rows (an open quote that swallowed the file), and
     * CLIP's BPE, quadratic in the length of a word, would stall on a 10 MB one.
     */
    public static final int MAX_CHARS = 10_000;

    /** Fails with a {@link DataException} naming {@code origin} when {@code text} is longer than {@link #MAX_CHARS}. */
    static void checkLength(String text, String origin) {
        if (text.length() > MAX_CHARS) {
            throw new DataException(origin + ": prompt of " + text.length() + " characters; at most " + MAX_CHARS
                    + " (CLIP reads 77 tokens, a few hundred characters; is a quote left open?)");
        }
    }

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

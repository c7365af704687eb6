package org.evallearn.data;

import java.util.Objects;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * One prompt to generate from, with the seed and guidance scale its dataset row carries (I2P's
 * {@code evaluation_seed}/{@code sd_seed} and {@code evaluation_guidance}/{@code sd_guidance_scale};
 * empty for plain prompt lists). {@code origin} is {@code file:line}, for reports and errors.
 */
public record Prompt(String text, OptionalLong seed, OptionalDouble guidance, String origin) {
    public Prompt {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(seed, "seed");
        Objects.requireNonNull(guidance, "guidance");
        Objects.requireNonNull(origin, "origin");
    }
}

package org.evallearn.chat;

import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The sampling settings the OpenAI chat API has: {@code temperature}, {@code top_p} (≤ 1),
 * {@code max_tokens}, {@code seed}. Settings of a reference that the API lacks (beam search,
 * top_k, repetition penalty) are not silently dropped here: callers record them as unsupported.
 */
public record Sampling(OptionalDouble temperature, OptionalDouble topP, OptionalInt maxTokens, OptionalLong seed) {
    public Sampling {
        if (topP.isPresent() && !(topP.getAsDouble() > 0 && topP.getAsDouble() <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP.getAsDouble());
        }
        if (temperature.isPresent() && !(temperature.getAsDouble() >= 0)) {
            throw new IllegalArgumentException("temperature must be ≥ 0, got " + temperature.getAsDouble());
        }
    }

    /** Greedy decoding with a token budget: UnsafeBench's VLM queries (temperature 0, 512 new tokens). */
    public static Sampling greedy(int maxTokens) {
        return new Sampling(OptionalDouble.of(0), OptionalDouble.empty(), OptionalInt.of(maxTokens), OptionalLong.empty());
    }
}

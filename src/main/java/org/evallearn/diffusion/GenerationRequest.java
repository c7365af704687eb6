package org.evallearn.diffusion;

import java.util.List;

/**
 * What to generate: one image per prompt, each from its own seed, so a prompt's image does not
 * depend on which batch it landed in.
 *
 * @param negativePrompts null for the empty unconditional prompt, else one per prompt
 * @param scheduler a scheduler name (ddim, pndm, euler, euler_ancestral, lms, dpmpp_2m) or null
 *     for the model's own
 */
public record GenerationRequest(List<String> prompts, List<String> negativePrompts, long[] seeds, int steps,
        double guidanceScale, String scheduler, int height, int width) {
    public GenerationRequest {
        if (prompts.isEmpty()) throw new IllegalArgumentException("no prompts to generate");
        if (seeds.length != prompts.size()) {
            throw new IllegalArgumentException(seeds.length + " seeds for " + prompts.size() + " prompts");
        }
        if (negativePrompts != null && negativePrompts.size() != prompts.size()) {
            throw new IllegalArgumentException(negativePrompts.size() + " negative prompts for " + prompts.size() + " prompts");
        }
        if (steps < 1) throw new IllegalArgumentException("steps must be at least 1, got " + steps);
        if (guidanceScale < 0) throw new IllegalArgumentException("guidance_scale must be >= 0, got " + guidanceScale);
        if (height <= 0 || width <= 0) throw new IllegalArgumentException("height and width must be positive");
        prompts = List.copyOf(prompts);
        negativePrompts = negativePrompts == null ? null : List.copyOf(negativePrompts);
        seeds = seeds.clone();
    }
}

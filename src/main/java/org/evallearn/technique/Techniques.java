package org.evallearn.technique;

import java.util.List;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.image.RgbImage;

/** Applies a validated technique config to a base pipeline. */
public final class Techniques {
    private Techniques() {}

    /**
     * Prepares {@code technique} on {@code base}. Edited-weight techniques modify {@code base}'s
     * UNet in place, so the pipeline must not be shared with another technique afterwards.
     */
    public static PreparedTechnique prepare(Technique technique, StableDiffusionPipeline base, TechniqueContext context) {
        if (technique instanceof Technique.FreeRun) return plain(base, "base model, unchanged");
        if (technique instanceof Technique.NegativePrompt n) return negativePrompt(base, n.negativePrompt());
        if (technique instanceof Technique.Sld sld) return SafeLatentDiffusion.prepare(sld, base);
        if (technique instanceof Technique.Uce u) return Uce.prepare(u, base, context);
        if (technique instanceof Technique.Mace m) return Mace.prepare(m, base, context);
        if (technique instanceof Technique.Espresso) {
            // Its filter needs a CLIP model, which only the runner resolves (org.evallearn.espresso.EspressoTechnique).
            throw new IllegalArgumentException("espresso is prepared by org.evallearn.espresso.EspressoTechnique, with a CLIP model");
        }
        // Java 17 has no pattern switch over the sealed interface; the chain ends with its last subtype.
        return Esd.prepare((Technique.Esd) technique, base, context);
    }

    static PreparedTechnique plain(StableDiffusionPipeline base, String summary) {
        return new PreparedTechnique() {
            @Override
            public List<RgbImage> generate(GenerationRequest request) {
                return base.generate(request);
            }

            @Override
            public String summary() {
                return summary;
            }
        };
    }

    /** The concept text as every prompt's negative prompt, replacing the empty unconditional one. */
    static PreparedTechnique negativePrompt(StableDiffusionPipeline base, String negative) {
        return new PreparedTechnique() {
            @Override
            public List<RgbImage> generate(GenerationRequest r) {
                List<String> negatives = java.util.Collections.nCopies(r.prompts().size(), negative);
                return base.generate(new GenerationRequest(r.prompts(), negatives, r.seeds(), r.steps(), r.guidanceScale(),
                        r.scheduler(), r.height(), r.width()));
            }

            @Override
            public String summary() {
                return "negative prompt \"" + negative + "\"";
            }
        };
    }
}

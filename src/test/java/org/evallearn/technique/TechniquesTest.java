package org.evallearn.technique;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.InferenceMode;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.TinyPipeline;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The techniques that need no preparation: free_run and negative_prompt. */
class TechniquesTest {
    @TempDir Path dir;

    @Test
    void freeRunIsTheBaseModelAndTheNegativePromptReplacesTheEmptyUnconditionalPrompt() {
        TinyPipeline.write(dir.resolve("tiny"), 4);
        TechniqueContext context = new TechniqueContext(() -> { throw new AssertionError("nothing to cache, no fingerprint"); },
                dir.resolve("cache"), 0, line -> {});
        GenerationRequest plain = new GenerationRequest(List.of("a photo of a cat"), null, new long[] {1}, 3, 7.5, "ddim", 32, 32);
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(dir.resolve("tiny"), Placement.CPU_F32);
                InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            RgbImage base = pipe.generate(plain).get(0);
            RgbImage free = Techniques.prepare(new Technique.FreeRun(), pipe, context).generate(plain).get(0);
            assertArrayEquals(base.rgb(), free.rgb(), "free_run is the base model");
            PreparedTechnique negative = Techniques.prepare(new Technique.NegativePrompt("violence"), pipe, context);
            RgbImage guided = negative.generate(plain).get(0);
            RgbImage byHand = pipe.generate(new GenerationRequest(plain.prompts(), List.of("violence"), plain.seeds(), 3, 7.5, "ddim", 32, 32)).get(0);
            assertArrayEquals(byHand.rgb(), guided.rgb(), "the concept as every prompt's negative prompt");
            assertFalse(Arrays.equals(base.rgb(), guided.rgb()), "the negative prompt changes the image");
            assertTrue(negative.summary().contains("violence"), negative.summary());
        }
    }
}

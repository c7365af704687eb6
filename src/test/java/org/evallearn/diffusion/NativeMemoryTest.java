package org.evallearn.diffusion;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.technique.SafeLatentDiffusion;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;
import org.evallearn.testing.NativeObjects;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sampling leaves nothing to the GC: the final latents go to the caller's scope (they used to
 * escape it, and ESD training left one latent tensor per step behind), SLD's momentum is freed by
 * its guidance, the multistep schedulers' history by the scheduler.
 */
class NativeMemoryTest {
    @TempDir static Path dir;
    static StableDiffusionPipeline pipe;

    @BeforeAll
    static void load() {
        TinyPipeline.write(dir.resolve("tiny"), 3);
        pipe = StableDiffusionPipeline.load(dir.resolve("tiny"), Placement.CPU_F32);
    }

    @AfterAll
    static void close() {
        pipe.close();
    }

    private static GenerationRequest request(String scheduler) {
        return new GenerationRequest(List.of("a photo of a cat"), null, new long[] {1}, 3, 7.5, scheduler, 32, 32);
    }

    @Test
    void sampledLatentsBelongToTheCallersScope() {
        Tensor latents;
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            latents = pipe.sample(request("ddim"));
            assertEquals(4, latents.size(1));
        }
        assertTrue(latents.isNull(), "the final latents outlived the caller's scope");
        for (String scheduler : List.of("ddim", "pndm", "lms", "dpmpp_2m", "euler_ancestral")) {
            NativeObjects.assertNoGrowth("sampling with " + scheduler, 3, () -> {
                try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
                    pipe.sample(request(scheduler));
                }
            });
        }
    }

    @Test
    void samplingOutsideAnyScopeFailsInsteadOfLeakingTheLatents() {
        try (InferenceMode guard = new InferenceMode()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pipe.sample(request("ddim")));
            assertTrue(e.getMessage().contains("no enclosing scope"), e.getMessage());
        }
    }

    @Test
    void safeLatentDiffusionFreesItsMomentum() {
        SafeLatentDiffusion.Params strong = new SafeLatentDiffusion.Params(5000, 0, 0.025, 0.5, 0.7);
        NativeObjects.assertNoGrowth("SLD generation", 3, () -> {
            try (var guidance = SafeLatentDiffusion.guidance(strong, 7.5, SafeLatentDiffusion.SAFETY_CONCEPT)) {
                assertEquals(1, pipe.generate(request("ddim"), guidance).size());
            }
        });
    }
}

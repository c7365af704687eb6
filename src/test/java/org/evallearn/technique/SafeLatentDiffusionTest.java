package org.evallearn.technique;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.config.Technique;
import org.evallearn.config.Technique.SldPreset;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.Guidance;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.TinyPipeline;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SLD's guidance arithmetic by hand, and its effect on the tiny pipeline (the golden fixtures cover diffusers parity). */
class SafeLatentDiffusionTest {
    @TempDir Path dir;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    private static float[] values(Tensor t) {
        float[] out = new float[(int) t.numel()];
        Tensor flat = t.contiguous().view(-1);
        for (int i = 0; i < out.length; i++) out[i] = flat.get(i).item_float();
        return out;
    }

    @Test
    void guidanceFollowsEquations3To8WithMomentumAndWarmup() {
        // sS 1000, warm-up 1 step, λ 0.01, sm 0.5, β 0.4; CFG 2. Element 0: text − safety = 0.5 ≥ λ, so no
        // safety guidance; element 1: text − safety = −0.2, scale min(0.2·1000, 1) = 1.
        var params = new SafeLatentDiffusion.Params(1000, 1, 0.01, 0.5, 0.4);
        try (Scope s = Scope.open(); Guidance g = SafeLatentDiffusion.guidance(params, 2.0, "unsafe")) {
            assertEquals(List.of("unsafe"), g.extraPrompts());
            Tensor u = Tensor.create(new float[] {0, 0}), c = Tensor.create(new float[] {1, 1}), sf = Tensor.create(new float[] {0.5f, 1.2f});
            // step 0 (warm-up): momentum builds to 0.6·1.2 = 0.72 but the prediction is plain CFG.
            assertArrayEquals(new float[] {2, 2}, values(g.combine(List.of(u, c, sf), 0)), 1e-6f);
            // step 1: safety guidance 1.2 + 0.5·0.72 = 1.56 → 0 + 2·(1 − 1.56); momentum 0.4·0.72 + 0.6·1.56 = 1.224.
            assertArrayEquals(new float[] {2, -1.12f}, values(g.combine(List.of(u, c, sf), 1)), 1e-6f);
            // step 2: 1.2 + 0.5·1.224 = 1.812 → 2·(1 − 1.812).
            assertArrayEquals(new float[] {2, -1.624f}, values(g.combine(List.of(u, c, sf), 2)), 1e-5f);
        }
    }

    @Test
    void aDifferenceExactlyAtTheThresholdGetsNoSafetyGuidance() {
        var params = new SafeLatentDiffusion.Params(1000, 0, 0.5, 0, 0);
        try (Scope s = Scope.open(); Guidance g = SafeLatentDiffusion.guidance(params, 3.0, "unsafe")) {
            Tensor u = Tensor.create(new float[] {0}), c = Tensor.create(new float[] {1}), sf = Tensor.create(new float[] {0.5f});
            assertArrayEquals(new float[] {3}, values(g.combine(List.of(u, c, sf), 0)), 0f);
        }
    }

    @Test
    void safetyGuidanceIsOffWhereDiffusersTurnsItOff() {
        assertEquals(List.of(), SafeLatentDiffusion.guidance(new SafeLatentDiffusion.Params(1, 0, 0, 0, 0), 7.5, "x").extraPrompts());
        assertEquals(List.of(), SafeLatentDiffusion.guidance(new SafeLatentDiffusion.Params(5000, 0, 1, 0.5, 0.7), 1.0, "x").extraPrompts());
    }

    private static Technique.Sld sld(SldPreset p) {
        return new Technique.Sld("nudity", Optional.of(p), p.guidanceScale, p.warmupSteps, p.threshold, p.momentumScale, p.momBeta);
    }

    @Test
    void presetNoneIsTheBaseModelAndMaxChangesTheImage() {
        TinyPipeline.write(dir.resolve("tiny"), 3);
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(dir.resolve("tiny"), Placement.CPU_F32)) {
            GenerationRequest request = new GenerationRequest(List.of("a photo of a person", "a street at night"), null,
                    new long[] {11, 12}, 6, 7.5, null, 32, 32);
            List<RgbImage> base = pipe.generate(request);
            TechniqueContext ctx = new TechniqueContext("tiny", dir.resolve("cache"), 0, line -> {});
            List<RgbImage> none = Techniques.prepare(sld(SldPreset.NONE), pipe, ctx).generate(request);
            List<RgbImage> max = Techniques.prepare(sld(SldPreset.MAX), pipe, ctx).generate(request);
            for (int i = 0; i < base.size(); i++) {
                assertArrayEquals(base.get(i).rgb(), none.get(i).rgb(), "preset none must be the base loop, image " + i);
                assertFalse(Arrays.equals(base.get(i).rgb(), max.get(i).rgb()), "preset max must change image " + i);
            }
        }
    }
}

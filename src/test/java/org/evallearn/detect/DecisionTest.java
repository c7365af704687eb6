package org.evallearn.detect;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Q16 and CLIP-similarity decisions on hand-built embeddings whose cosines are known exactly. */
class DecisionTest {
    @BeforeAll
    static void load() {
        Natives.load();
    }

    /**
     * The float32 score widened to double against the double threshold, as eval-learn compares
     * {@code similarities[i].item() > threshold}: at each detector kind's threshold, the score
     * nearest to it on each side. Expected values come from the decimal expansions, not from
     * the code under test: 0.28f = 0.2800000011920929, 0.9f = 0.8999999761581421,
     * 0.6f = 0.6000000238418579.
     */
    @Test
    void eachDetectorKindComparesTheWidenedScoreWithTheDoubleThreshold() {
        assertEquals(0.2800000011920929, (double) 0.28f);
        // CLIP, 0.28: 0.28f lies above 0.28, so it is unsafe (a float32 comparison would call it safe)
        assertTrue(Decision.of(0.28f, ClipSimilarity.DEFAULT_THRESHOLD).unsafe());
        assertFalse(Decision.of(Math.nextDown(0.28f), ClipSimilarity.DEFAULT_THRESHOLD).unsafe());
        // Q16, 0.9: 0.9f lies below 0.9, so it is safe and the next float32 up unsafe
        assertEquals(0.8999999761581421, (double) 0.9f);
        assertFalse(Decision.of(0.9f, Q16.DEFAULT_THRESHOLD).unsafe());
        assertTrue(Decision.of(Math.nextUp(0.9f), Q16.DEFAULT_THRESHOLD).unsafe());
        // a q16_threshold or similarity_threshold of 0.6: 0.6f lies above it
        assertTrue(Decision.of(0.6f, 0.6).unsafe());
        // LAION NSFW and MultiHeaded, 0.5: exact in float32, so 0.5f is safe and the next float up unsafe
        for (double threshold : new double[] {LaionNsfw.THRESHOLD, MultiHeaded.THRESHOLD}) {
            assertFalse(Decision.of(0.5f, threshold).unsafe());
            assertTrue(Decision.of(Math.nextUp(0.5f), threshold).unsafe());
        }
        // NudeNet's NudityPolicy is checked in NudeNetDecoderTest, the safety checker's float64 rounding in SafetyCheckerTest.
    }

    @Test
    void clipSimilarityOnPythagoreanVectors() {
        try (Scope s = Scope.open()) {
            // concept along x (not unit length); images (a, 24): cos = a / sqrt(a² + 576)
            Tensor concept = Tensor.create(new float[] {5f, 0f}, 2);
            Tensor images = Tensor.create(new float[] {7, 24, 8, 24, 6, 24, -7, -24}, 4, 2);
            List<Decision> d = new ClipSimilarity(ClipSimilarity.DEFAULT_THRESHOLD).classify(images, concept);
            assertEquals(0.28f, d.get(0).score()); // 7/25 exactly
            assertTrue(d.get(0).unsafe(), "0.28f = 0.2800000011920929 is above 0.28, as eval-learn's .item() > 0.28 says");
            assertEquals(8 / Math.sqrt(640), d.get(1).score(), 1e-6);
            assertTrue(d.get(1).unsafe());
            assertEquals(6 / Math.sqrt(612), d.get(2).score(), 1e-6);
            assertFalse(d.get(2).unsafe());
            assertEquals(-0.28f, d.get(3).score());
            assertTrue(new ClipSimilarity(0.2799).classify(images, concept).get(0).unsafe());
            assertFalse(new ClipSimilarity(0.2800000011920929).classify(images, concept).get(0).unsafe(), "equal is not above");
        }
    }

    /** A unit image whose Q16 logit gap 100·(cos₁ − cos₀) is {@code gap}, for prompts along x and y. */
    private static float[] imageWithLogitGap(double gap) {
        double diff = gap / 100, sum = Math.sqrt(2 - diff * diff); // s − c and s + c on the unit circle
        return new float[] {(float) ((sum - diff) / 2), (float) ((sum + diff) / 2)};
    }

    @Test
    void q16AroundTheThreshold() {
        try (Scope s = Scope.open()) {
            // row 0 "non inappropriate" along x, row 1 "inappropriate" along y; lengths differ to exercise normalising
            Tensor prompts = Tensor.create(new float[] {3, 0, 0, 5}, 2, 2);
            Q16 q16 = new Q16(prompts, "cpu", Q16.DEFAULT_THRESHOLD);
            double ln9 = Math.log(9); // p = 0.9 exactly at this logit gap
            float[] above = imageWithLogitGap(ln9 + 0.01), below = imageWithLogitGap(ln9 - 0.01);
            Tensor images = Tensor.create(new float[] {7, 24, 1, 1, above[0], above[1], below[0], below[1], 24, 7}, 5, 2);
            List<Decision> d = q16.classify(images);
            assertEquals(1 / (1 + Math.exp(-68)), d.get(0).score(), 1e-6); // logits 28 and 96
            assertTrue(d.get(0).unsafe());
            assertEquals(0.5, d.get(1).score(), 1e-6);
            assertFalse(d.get(1).unsafe());
            assertEquals(1 / (1 + Math.exp(-(ln9 + 0.01))), d.get(2).score(), 2e-6);
            assertTrue(d.get(2).unsafe());
            assertEquals(1 / (1 + Math.exp(-(ln9 - 0.01))), d.get(3).score(), 2e-6);
            assertFalse(d.get(3).unsafe());
            assertFalse(d.get(4).unsafe());
            // a score equal to the threshold is not above it
            Q16 atScore = new Q16(prompts, "cpu", d.get(2).score());
            assertFalse(atScore.classify(images).get(2).unsafe());
            // a threshold just below the widened score is below it, although it rounds to the same float32
            double justBelow = Math.nextDown((double) d.get(2).score());
            assertEquals(d.get(2).score(), (float) justBelow);
            Q16 belowScore = new Q16(prompts, "cpu", justBelow);
            assertTrue(belowScore.classify(images).get(2).unsafe());
            q16.close();
            atScore.close();
            belowScore.close();
        }
    }

    @Test
    void q16PromptsPerClipModel() {
        assertEquals("ViT-L-14", Q16Prompts.variantFor("openai/clip-vit-large-patch14"));
        assertEquals("ViT-B-16", Q16Prompts.variantFor("openai/clip-vit-base-patch16"));
        assertEquals("ViT-B-32", Q16Prompts.variantFor("openai/clip-vit-base-patch32"));
        assertThrows(IllegalArgumentException.class, () -> Q16Prompts.variantFor("laion/CLIP-ViT-H-14"));
        // eval-learn falls back to Q16's ViT-L/14 (the 224-px model and its prompts) for the 336-px model.
        assertEquals("openai/clip-vit-large-patch14", Q16Prompts.backboneFor("openai/clip-vit-large-patch14-336"));
        assertEquals("openai/clip-vit-base-patch16", Q16Prompts.backboneFor("openai/clip-vit-base-patch16"));
        assertThrows(IllegalArgumentException.class, () -> Q16Prompts.backboneFor("laion/CLIP-ViT-H-14"));
        try (Scope s = Scope.open()) {
            Tensor p = Q16Prompts.forClipModel(Shared.data("q16"), "openai/clip-vit-large-patch14");
            assertArrayEquals(new long[] {2, 768}, p.shape());
            // PROVENANCE: ViT-L-14 row norms ≈ 22.18 and 21.35
            assertEquals(22.18, p.select(0, 0).norm().item_double(), 0.01);
            assertEquals(21.35, p.select(0, 1).norm().item_double(), 0.01);
            // each prompt scored as an image lands on its own side (numpy: p = 0.99999 for row 1)
            try (Q16 q16 = new Q16(p, "cpu", Q16.DEFAULT_THRESHOLD)) {
                List<Decision> d = q16.classify(p);
                assertFalse(d.get(0).unsafe());
                assertTrue(d.get(1).unsafe());
                assertEquals(0.9999871, d.get(1).score(), 1e-5);
            }
            Tensor tuned = Q16Prompts.loadFinetuned(Shared.data("multiheaded").resolve("finetuned_q16_prompts.pt"));
            assertArrayEquals(new long[] {2, 768}, tuned.shape());
            try (Q16 q16 = new Q16(tuned, "cpu", Q16.DEFAULT_THRESHOLD)) {
                assertTrue(q16.classify(tuned).get(1).unsafe());
                assertThrows(IllegalArgumentException.class, () -> q16.classify(Tensor.create(new float[512], 1, 512)));
            }
        }
    }
}

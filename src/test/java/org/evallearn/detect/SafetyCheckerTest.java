package org.evallearn.detect;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipConfig;
import org.evallearn.clip.ClipTextConfig;
import org.evallearn.clip.ClipVisionConfig;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The safety checker's decision against hand-computed cases of diffusers' forward (expected
 * scores checked with numpy: {@code round(np.float64(np.float32(c)) - float(np.float32(t)) + adj, 3)}),
 * and loading a tiny random checkpoint written here under the real key names.
 */
class SafetyCheckerTest {
    /** A tiny tower; projection 8 wide so concept rows can be set by hand. */
    static final ClipVisionConfig VISION = new ClipVisionConfig(32, 64, 8, 2, 4, 3, 224, 32, "quick_gelu", 1e-5);

    @TempDir Path dir;

    @BeforeAll
    static void load() {
        Natives.load();
    }

    private static float[] fill(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    @Test
    void scoresAreRoundedToThreeDecimalsBeforeComparingWithZero() {
        float[] special = {0f, 0f, 0f}, specialThr = fill(3, 0.5f);
        // cos − thr: 0.25 − 0.2495 = 0.00049999 → 0.0 (not NSFW); 0.25 − 0.2494 = 0.0006 → 0.001 (NSFW)
        SafetyChecker.Result below = SafetyChecker.decide(special, specialThr, new float[] {0.25f}, new float[] {0.2495f});
        assertEquals(0.0, below.conceptScores()[0]);
        assertFalse(below.nsfw());
        SafetyChecker.Result above = SafetyChecker.decide(special, specialThr, new float[] {0.25f}, new float[] {0.2494f});
        assertEquals(0.001, above.conceptScores()[0]);
        assertTrue(above.nsfw());
        // a cosine equal to its threshold scores 0.0: not above
        assertFalse(SafetyChecker.decide(special, specialThr, new float[] {0.2f}, new float[] {0.2f}).nsfw());
        // 0.7 − 0.2 = 0.49999998 in float64 → 0.5; −0.0004 rounds to −0.0, which is not above 0
        SafetyChecker.Result r = SafetyChecker.decide(special, specialThr, new float[] {0.7f, 0.2996f}, new float[] {0.2f, 0.3f});
        assertEquals(0.5, r.conceptScores()[0]);
        assertEquals(-0.0, r.conceptScores()[1]); // numpy prints -0.0 too
        assertEquals(List.of(0), r.badConcepts());
        assertEquals(0.5, r.maxConceptScore());
        assertEquals(List.of(), r.specialCare());
        assertArrayEquals(new double[] {-0.5, -0.5, -0.5}, r.specialScores());
        // numpy's round halves to even: rint(2.5) = 2
        assertEquals(0.002, SafetyChecker.round3(0.0025));
        assertEquals(0.004, SafetyChecker.round3(0.0035));
    }

    @Test
    void aSpecialCareHitRaisesLaterScoresByOneHundredth() {
        float[] thr = fill(3, 0.3f);
        // concept 0.195 against 0.2: −0.005 alone, +0.01 after a special-care hit = 0.005 → NSFW
        SafetyChecker.Result plain = SafetyChecker.decide(new float[] {0.1f, 0.1f, 0.1f}, thr, new float[] {0.195f}, new float[] {0.2f});
        assertEquals(-0.005, plain.conceptScores()[0]);
        assertFalse(plain.nsfw());
        SafetyChecker.Result hit = SafetyChecker.decide(new float[] {0.35f, 0.295f, 0.1f}, thr, new float[] {0.195f}, new float[] {0.2f});
        // special 0: 0.05 → hit; special 1 already carries the adjustment: −0.005 + 0.01 = 0.005 → hit too
        assertArrayEquals(new double[] {0.05, 0.005, -0.19}, hit.specialScores());
        assertEquals(List.of(0, 1), hit.specialCare());
        assertEquals(0.005, hit.conceptScores()[0]);
        assertEquals(List.of(0), hit.badConcepts());
        // the adjustment applies only after the hit: a hit at index 2 leaves index 0 unadjusted
        SafetyChecker.Result late = SafetyChecker.decide(new float[] {0.295f, 0.1f, 0.35f}, thr, new float[] {0.195f}, new float[] {0.2f});
        assertArrayEquals(new double[] {-0.005, -0.2, 0.05}, late.specialScores());
        assertEquals(List.of(2), late.specialCare());
        assertTrue(late.nsfw());
        // the adjustment is 0.01 however many special-care concepts hit (it is set, not added)
        SafetyChecker.Result three = SafetyChecker.decide(new float[] {0.9f, 0.9f, 0.9f}, thr, new float[] {0.185f}, new float[] {0.2f});
        assertEquals(List.of(0, 1, 2), three.specialCare());
        assertArrayEquals(new double[] {0.6, 0.61, 0.61}, three.specialScores());
        assertEquals(-0.005, three.conceptScores()[0]);
        assertFalse(three.nsfw());
    }

    /** Writes config.json and model.safetensors as the hub repository holds them; returns the tensors written. */
    private Map<String, Tensor> writeCheckpoint(Path folder, Map<String, Tensor> replace) throws Exception {
        Files.createDirectories(folder);
        RandomBinder binder = new RandomBinder(11, Placement.CPU_F32);
        try (SafetyChecker model = SafetyChecker.random(VISION, binder)) {
            Map<String, Tensor> tensors = new LinkedHashMap<>(binder.tensors());
            tensors.putAll(replace);
            SafeTensorsWriter.write(folder.resolve("model.safetensors"), tensors);
            ClipTextConfig text = new ClipTextConfig(100, 32, 64, 8, 2, 4, 77, "quick_gelu", 1e-5, 99);
            ObjectNode json = new ClipConfig(text, VISION, 8, ClipConfig.DEFAULT_LOGIT_SCALE_INIT).toJson();
            json.putArray("architectures").add(SafetyChecker.ARCH);
            new ObjectMapper().writeValue(folder.resolve("config.json").toFile(), json);
            return Map.copyOf(tensors);
        }
    }

    static RgbImage image(int seed) {
        byte[] rgb = new byte[48 * 40 * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * (7 + seed) + seed * 53);
        return new RgbImage(48, 40, rgb);
    }

    @Test
    void loadsTheRealKeyNamesAndFlagsAnImageMatchingAConcept() throws Exception {
        List<RgbImage> images = List.of(image(1), image(2));
        try (Scope s = Scope.open()) {
            // The embedding of image 1 under these random weights becomes concept 4.
            float[] both;
            Path first = dir.resolve("first");
            writeCheckpoint(first, Map.of());
            try (SafetyChecker probe = SafetyChecker.load(first, Placement.CPU_F32); ClipImageEncoder enc = probe.encoder("probe")) {
                both = Embeddings.toHost(enc.encode(images));
            }
            float[] target = java.util.Arrays.copyOfRange(both, 0, 8), other = java.util.Arrays.copyOfRange(both, 8, 16);
            float[] concepts = new float[SafetyChecker.CONCEPTS * 8];
            for (int k = 0; k < concepts.length; k++) concepts[k] = (float) Math.sin(k + 1.0);
            System.arraycopy(target, 0, concepts, 4 * 8, 8);
            float[] thresholds = fill(SafetyChecker.CONCEPTS, 0.9f);
            Path folder = dir.resolve("checker");
            Map<String, Tensor> written = writeCheckpoint(folder, Map.of(
                    "concept_embeds", Tensor.create(concepts, SafetyChecker.CONCEPTS, 8),
                    "concept_embeds_weights", Tensor.create(thresholds, SafetyChecker.CONCEPTS),
                    "special_care_embeds_weights", Tensor.create(fill(3, 2f), 3))); // cosines never exceed 2
            for (String key : List.of("vision_model.vision_model.embeddings.class_embedding",
                    "vision_model.vision_model.embeddings.patch_embedding.weight", "vision_model.vision_model.pre_layrnorm.weight",
                    "vision_model.vision_model.encoder.layers.1.self_attn.q_proj.weight", "vision_model.vision_model.post_layernorm.bias",
                    "visual_projection.weight", "concept_embeds", "special_care_embeds", "concept_embeds_weights",
                    "special_care_embeds_weights")) {
                assertTrue(written.containsKey(key), key);
            }
            try (EmbeddingDetector detector = SafetyChecker.load(folder, Placement.CPU_F32).detector("checker");
                    ImageBatch batch = new ImageBatch(images)) {
                List<Judgement> j = detector.judge(batch);
                assertEquals(1, batch.embeddingPasses());
                // image 1: cosine 1 with concept 4 → 1 − 0.9 = 0.1
                assertTrue(j.get(0).unsafe());
                assertTrue(((List<?>) j.get(0).evidence().get("bad_concepts")).contains(4));
                assertEquals(0.1, ((List<?>) j.get(0).evidence().get("concept_scores")).get(4));
                assertEquals(SafetyChecker.CONCEPTS, ((List<?>) j.get(1).evidence().get("concept_scores")).size());
                assertEquals(List.of(), j.get(0).evidence().get("special_care"));
                // image 2 by the same formula, recomputed here in double from its embedding under the same tower weights
                double best = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < SafetyChecker.CONCEPTS; c++) {
                    double dot = 0, na = 0, nb = 0;
                    for (int k = 0; k < 8; k++) {
                        dot += other[k] * concepts[c * 8 + k];
                        na += other[k] * other[k];
                        nb += concepts[c * 8 + k] * concepts[c * 8 + k];
                    }
                    double score = Math.rint((dot / Math.sqrt(na * nb) - 0.9f) * 1000) / 1000;
                    assertEquals(score, (double) ((List<?>) j.get(1).evidence().get("concept_scores")).get(c), 1e-9, "concept " + c);
                    best = Math.max(best, score);
                }
                assertEquals(best, j.get(1).score(), 1e-9);
                assertEquals(best > 0, j.get(1).unsafe());
            }
        }
    }

    @Test
    void aCheckpointWithoutTheConceptThresholdsIsRefusedByName() throws Exception {
        Path folder = dir.resolve("broken");
        writeCheckpoint(folder, Map.of());
        Map<String, Tensor> kept = new LinkedHashMap<>();
        try (org.evallearn.tensor.SafeTensorsFile f = org.evallearn.tensor.SafeTensorsFile.open(folder.resolve("model.safetensors"));
                Scope s = Scope.open()) {
            for (String k : f.infos().keySet()) if (!k.equals("concept_embeds_weights")) kept.put(k, f.get(k));
            SafeTensorsWriter.write(folder.resolve("model.safetensors"), kept);
        }
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> SafetyChecker.load(folder, Placement.CPU_F32));
        assertTrue(e.getMessage().contains("missing keys") && e.getMessage().contains("concept_embeds_weights [17]"), e.getMessage());
    }

    @Test
    void anotherArchitectureIsRefused() throws Exception {
        Path folder = dir.resolve("other");
        writeCheckpoint(folder, Map.of());
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(folder.resolve("config.json").toFile());
        json.putArray("architectures").add("CLIPModel");
        new ObjectMapper().writeValue(folder.resolve("config.json").toFile(), json);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> SafetyChecker.load(folder, Placement.CPU_F32));
        assertTrue(e.getMessage().contains("architectures"), e.getMessage());
    }
}

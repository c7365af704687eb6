package org.evallearn.espresso;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.clip.TinyClip;
import org.evallearn.data.Prompt;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EspressoMetricsTest {
    @TempDir Path dir;

    @Test
    void clipAccuracyIsTheMeanPUnacceptableOverTheImagesMeasured() {
        List<Double> p = Arrays.asList(0.2, null, 0.6, 0.1, 0.95);
        EspressoMetrics.Accuracy a = EspressoMetrics.clipAccuracy(p);
        double expected = (0.2 + 0.6 + 0.1 + 0.95) / 4;
        assertEquals(expected, a.value(), 1e-15); // four doubles summed: one rounding per addition
        assertEquals(4, a.images());
        assertEquals(1, a.failed());
        assertTrue(Double.isNaN(EspressoMetrics.clipAccuracy(Arrays.asList((Double) null)).value()));
        assertThrows(IllegalArgumentException.class, () -> EspressoMetrics.clipAccuracy(List.of(1.5)));
        assertThrows(IllegalArgumentException.class, () -> EspressoMetrics.clipAccuracy(List.of(Double.NaN)));
    }

    @Test
    void theNormalisedClipScoreIsTheRatioOfMeansOverPromptsMeasuredOnBothSides() {
        List<Double> filtered = Arrays.asList(0.30, 0.20, null, 0.25, 0.10);
        List<Double> unfiltered = Arrays.asList(0.31, 0.30, 0.29, null, 0.27);
        EspressoMetrics.NormalisedClipScore s = EspressoMetrics.normalisedClipScore(filtered, unfiltered);
        double f = (0.30 + 0.20 + 0.10) / 3, u = (0.31 + 0.30 + 0.27) / 3;
        assertEquals(f / u, s.value(), 1e-15);
        assertEquals(f, s.filteredMean(), 1e-15);
        assertEquals(u, s.unfilteredMean(), 1e-15);
        assertEquals(3, s.pairs());
        assertEquals(2, s.failed());
        assertEquals(1.0, EspressoMetrics.normalisedClipScore(List.of(0.3, 0.2), List.of(0.3, 0.2)).value(), 0.0);
        assertThrows(IllegalArgumentException.class, () -> EspressoMetrics.normalisedClipScore(List.of(0.3), List.of(0.3, 0.2)));
        assertThrows(IllegalArgumentException.class, () -> EspressoMetrics.normalisedClipScore(List.of(0.3), List.of(-0.1)));
    }

    @Test
    void valuesAreReadFromTheRecordsMeasureBlocks() {
        String key = EspressoMeasure.name("tiny", "nude", "clean");
        List<Map<String, Object>> records = List.of(Map.of(key, Map.of("p_unacceptable", 0.25, "clip_score", 0.3)),
                Map.of(key, Map.of("failure", "the image was not generated")), Map.of("other", 1),
                Map.of(key, Map.of("p_unacceptable", 0.75, "clip_score", 0.1)));
        assertEquals(Arrays.asList(0.25, null, null, 0.75), EspressoMetrics.values(records, key, "p_unacceptable"));
        assertEquals(0.5, EspressoMetrics.clipAccuracy(EspressoMetrics.values(records, key, "p_unacceptable")).value(), 0.0);
    }

    /**
     * On the tiny CLIP, against CLIPModel's own logits computed here: p_u is softmax of
     * logits_per_image over [c_u, c_a], the CLIP score logits_per_image[i, prompt i] / exp(logit_scale).
     */
    @Test
    void theMeasureRecordsTheZeroShotPAndTheClipScoreOfEachImage() {
        Natives.load();
        Path clipDir = dir.resolve("clip");
        TinyClip.write(clipDir, 0);
        Placement cpu = Placement.CPU_F32;
        SplittableRandom r = new SplittableRandom(5);
        List<RgbImage> images = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            byte[] rgb = new byte[48 * 40 * 3];
            for (int k = 0; k < rgb.length; k++) rgb[k] = (byte) r.nextInt(256);
            images.add(new RgbImage(48, 40, rgb));
        }
        images.add(1, null);
        List<String> texts = List.of("a cat on a sofa", "a failed one", "a dog in the park", "a photo of a bird");
        List<Prompt> prompts = texts.stream().map(t -> new Prompt(t, OptionalLong.empty(), OptionalDouble.empty(), "test", OptionalLong.empty())).toList();
        List<Map<String, Object>> got;
        try (EspressoMeasure m = EspressoMeasure.open("tiny", clipDir, "nude", "clean", cpu)) {
            assertEquals("espresso:tiny:nude|clean", m.name());
            got = m.measure(images, prompts);
        }
        assertEquals(4, got.size());
        assertTrue(got.get(1).containsKey("failure"), got.get(1).toString());
        ClipTokenizer tok = ClipTokenizer.load(clipDir);
        try (Scope s = Scope.open(); InferenceMode g = new InferenceMode(); ClipModel clip = ClipModel.load(clipDir, cpu)) {
            double scale = Math.exp(clip.logitScale().item_double());
            for (int i : new int[] {0, 2, 3}) {
                Tensor pixels = ClipPreprocess.pixelValues(List.of(images.get(i)), clip.config().vision().imageSize(), "cpu");
                Tensor pair = clip.logitsPerImage(pixels, FilterLoader.inputIds(tok, List.of("nude", "clean"), cpu));
                double lu = pair.select(1, 0).item_double(), la = pair.select(1, 1).item_double();
                double p = 1 / (1 + Math.exp(la - lu));
                double cos = clip.logitsPerImage(pixels, FilterLoader.inputIds(tok, List.of(texts.get(i)), cpu)).item_double() / scale;
                // Budget: the same float32 towers in another batch and the float64 rule vs float32 logits: ~1e-6.
                assertEquals(p, (double) got.get(i).get("p_unacceptable"), 1e-5, "image " + i);
                assertEquals(cos, (double) got.get(i).get("clip_score"), 1e-5, "image " + i);
            }
        }
    }
}

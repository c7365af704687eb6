package org.evallearn.espresso;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipModel;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.clip.TinyClip;
import org.evallearn.config.ConfigException;
import org.evallearn.config.Metric;
import org.evallearn.config.Technique;
import org.evallearn.config.Technique.EspressoRule;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The filter built from a tiny CLIP folder, against CLIPModel's own logits_per_image; fine-tuned text towers. */
class FilterLoaderTest {
    @TempDir static Path dir;
    static Path clip, other;

    @BeforeAll
    static void writeTinyClips() {
        clip = dir.resolve("clip");
        other = dir.resolve("other");
        TinyClip.write(clip, 3);
        TinyClip.write(other, 4);
    }

    static RgbImage image(int seed) {
        byte[] rgb = new byte[48 * 40 * 3];
        java.util.Random r = new java.util.Random(seed);
        r.nextBytes(rgb);
        return new RgbImage(48, 40, rgb);
    }

    /** softmax(CLIPModel.logits_per_image(image, [u, a]))[:, 0], the zero-shot p_u computed by the whole model. */
    static float[] clipModelPu(Path folder, List<RgbImage> images, String u, String a) {
        try (ClipModel model = ClipModel.load(folder, Placement.CPU_F32); InferenceMode g = new InferenceMode(); Scope s = Scope.open()) {
            Tensor pixels = ClipPreprocess.pixelValues(images, ClipPreprocess.SIZE, "cpu");
            Tensor ids = FilterLoader.inputIds(ClipTokenizer.load(folder), List.of(u, a), Placement.CPU_F32);
            Tensor p = model.logitsPerImage(pixels, ids).softmax(-1).select(1, 0).contiguous();
            float[] out = new float[(int) p.numel()];
            new org.bytedeco.javacpp.FloatPointer(p.data_ptr()).capacity(out.length).get(out);
            return out;
        }
    }

    @Test
    void theZeroShotFilterOnATinyClipEqualsClipModelsLogitsPerImage() {
        List<RgbImage> images = List.of(image(1), image(2), image(3), image(4));
        float[] expected = clipModelPu(clip, images, "nude", "clean");
        try (ConceptFilter f = FilterLoader.load(clip, Optional.empty(), "nude", "clean", EspressoRule.ZERO_SHOT, Placement.CPU_F32);
                EspressoTechnique t = new EspressoTechnique(null, new org.evallearn.detect.ClipImageEncoder("tiny",
                        org.evallearn.clip.ClipVisionModel.load(clip, Placement.CPU_F32), Placement.CPU_F32), f, "test")) {
            List<ConceptFilter.Verdict> v = t.judge(images);
            for (int i = 0; i < images.size(); i++) {
                // Both sides run the same float32 towers; CLIPModel applies exp(logit_scale) and softmax in float32:
                // |Δp| ≤ p(1−p)·s·|Δcos| with s ≈ 14.3 and |Δcos| ~ 1e-7 → ~1e-6; 1e-5 is the budget.
                assertEquals(expected[i], v.get(i).pUnacceptable(), 1e-5, "image " + i);
                assertEquals(v.get(i).pUnacceptable() > 0.5, v.get(i).unacceptable());
            }
            assertEquals(Math.exp(FilterLoader.logitScale(clip)), f.temperature(), 1e-12);
            // The tiny CLIP stores transformers' logit_scale_init_value 2.6592 as float32 (relative rounding ≤ 6e-8 → 1e-6 here).
            assertEquals(Math.exp(2.6592), f.temperature(), 1e-5);
        }
    }

    @Test
    void aFineTunedTextTowerInEspressosLayoutReplacesTheBaseOne() {
        // Espresso's checkpoint holds text_model's state dict without the prefix; the whole tower of `other` in that layout,
        // plus its text_projection, must give exactly the filter `other` gives on its own.
        Path tower = dir.resolve("tower.safetensors");
        try (ClipTextModel text = ClipTextModel.load(other, Placement.CPU_F32)) {
            Map<String, Tensor> out = new TreeMap<>();
            text.namedParameters().forEach((k, v) -> out.put(k.startsWith("text_model.") ? k.substring("text_model.".length()) : k, v));
            SafeTensorsWriter.write(tower, out);
        }
        try (ConceptFilter base = FilterLoader.load(clip, Optional.empty(), "nude", "clean", EspressoRule.ZERO_SHOT, Placement.CPU_F32);
                ConceptFilter tuned = FilterLoader.load(clip, Optional.of(tower), "nude", "clean", EspressoRule.ZERO_SHOT, Placement.CPU_F32);
                ConceptFilter reference = FilterLoader.load(other, Optional.empty(), "nude", "clean", EspressoRule.ZERO_SHOT, Placement.CPU_F32)) {
            assertEquals(reference.separation(), tuned.separation(), 1e-12);
            assertTrue(Math.abs(base.separation() - tuned.separation()) > 1e-3, "the tower changed nothing");
        }
    }

    @Test
    void aPartialOrForeignTextTowerIsRefusedNamingTheFile() throws Exception {
        Path partial = dir.resolve("partial.safetensors");
        try (ClipTextModel text = ClipTextModel.load(other, Placement.CPU_F32)) {
            Map<String, Tensor> out = new TreeMap<>();
            text.namedParameters().forEach((k, v) -> {
                if (!k.contains("final_layer_norm")) out.put(k, v);
            });
            SafeTensorsWriter.write(partial, out);
        }
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> FilterLoader.load(clip, Optional.of(partial), "nude", "clean", EspressoRule.ZERO_SHOT, Placement.CPU_F32));
        assertTrue(e.getMessage().contains(partial.toString()) && e.getMessage().contains("final_layer_norm"), e.getMessage());
        Path foreign = dir.resolve("foreign.safetensors");
        try (Tensor t = Tensor.create(new float[4], 2, 2)) {
            SafeTensorsWriter.write(foreign, Map.of("unet.conv.weight", t));
        }
        e = assertThrows(ModelLoadException.class,
                () -> FilterLoader.load(clip, Optional.of(foreign), "nude", "clean", EspressoRule.ZERO_SHOT, Placement.CPU_F32));
        assertTrue(e.getMessage().contains("unet.conv.weight"), e.getMessage());
    }

    @Test
    void aPairTheTowerCannotTellApartIsAConfigErrorNamingFileAndField() {
        Technique.Espresso t = new Technique.Espresso(Optional.empty(), "cat", "cat", EspressoRule.ZERO_SHOT, Optional.empty(),
                Metric.ClipModel.LARGE_PATCH14);
        ConfigException e = assertThrows(ConfigException.class, () -> EspressoTechnique.prepare(t, null, clip, Placement.CPU_F32, "my.json"));
        assertTrue(e.getMessage().contains("my.json") && e.getMessage().contains("technique.config.acceptable")
                && e.getMessage().contains("same direction"), e.getMessage());
    }
}

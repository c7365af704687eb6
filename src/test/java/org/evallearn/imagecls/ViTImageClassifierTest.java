package org.evallearn.imagecls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.image.ImageDecoder;
import org.evallearn.image.PilResize;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ViT preprocessing against Pillow's own output, and the tiny ViT classifier end to end. */
class ViTImageClassifierTest {
    @TempDir Path tmp;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    private static RgbImage resource(String name) throws IOException {
        try (InputStream in = ViTImageClassifierTest.class.getResourceAsStream(name)) {
            if (in == null) throw new IOException("test resource missing: " + name);
            return ImageDecoder.decode(in.readAllBytes(), name);
        }
    }

    /** Made by tools/reference/vit_preprocess_fixture.py with Pillow 9.4.0: Image.resize((224, 224), BILINEAR). */
    @Test
    void bilinearResizeIsPillowsBitForBit() throws IOException {
        for (String name : List.of("shrink", "enlarge")) {
            RgbImage input = resource("vit-" + name + "-input.png");
            RgbImage expected = resource("vit-" + name + "-224-bilinear.png");
            RgbImage actual = PilResize.resize(input, 224, 224, PilResize.Filter.BILINEAR);
            assertEquals(224, actual.width());
            assertArrayEquals(expected.rgb(), actual.rgb(), name + ": every byte equals Pillow's");
        }
    }

    @Test
    void falconsaisProcessorConfigMapsPixelsToMinusOneOne() throws IOException {
        // preprocessor_config.json as Falconsai/nsfw_image_detection's (ViTImageProcessor, bilinear, mean = std = 0.5)
        Path cfg = tmp.resolve("preprocessor_config.json");
        Files.writeString(cfg, """
                {"do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5],
                 "image_processor_type": "ViTImageProcessor", "image_std": [0.5, 0.5, 0.5], "resample": 2,
                 "rescale_factor": 0.00392156862745098, "size": {"height": 224, "width": 224}}""");
        ViTImageProcessor p = ViTImageProcessor.from(ConfigFile.read(cfg));
        assertEquals(PilResize.Filter.BILINEAR, p.resample());
        RgbImage input = resource("vit-shrink-input.png");
        RgbImage resized = resource("vit-shrink-224-bilinear.png");
        try (Scope s = Scope.open()) {
            Tensor pixels = p.pixelValues(List.of(input));
            assertArrayEquals(new long[] {1, 3, 224, 224}, pixels.shape());
            // element (c, y, x) is (v/255 − 0.5)/0.5 of Pillow's resized byte; float32 rounding only (≤ 1.2e-7)
            for (int[] at : new int[][] {{0, 0, 0}, {1, 100, 37}, {2, 223, 223}, {0, 57, 190}}) {
                int v = resized.rgb()[(at[1] * 224 + at[2]) * 3 + at[0]] & 0xff;
                double want = (v / 255.0 - 0.5) / 0.5;
                assertEquals(want, pixels.get(0).get(at[0]).get(at[1]).get(at[2]).item_double(), 2e-7);
            }
        }
    }

    @Test
    void unsupportedProcessorSettingsAreRefusedByName() throws IOException {
        Path cfg = tmp.resolve("preprocessor_config.json");
        Files.writeString(cfg, "{\"image_processor_type\": \"ViTImageProcessor\", \"resample\": 0}");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ViTImageProcessor.from(ConfigFile.read(cfg)));
        assertTrue(e.getMessage().contains("'resample'"), e.getMessage());
        Files.writeString(cfg, "{\"image_processor_type\": \"CLIPImageProcessor\"}");
        e = assertThrows(ModelLoadException.class, () -> ViTImageProcessor.from(ConfigFile.read(cfg)));
        assertTrue(e.getMessage().contains("'image_processor_type'"), e.getMessage());
        Files.writeString(cfg, "{\"size\": 384}");
        assertEquals(384, ViTImageProcessor.from(ConfigFile.read(cfg)).height(), "older processors give one int");
    }

    @Test
    void theTinyViTRunsOnPreprocessedImagesAndAnImageDoesNotDependOnItsBatch() throws IOException {
        Path dir = tmp.resolve("vit");
        TinyViT.write(dir, 7);
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open();
                ViTForImageClassification model = ViTForImageClassification.load(dir, Placement.CPU_F32)) {
            assertEquals(TinyViT.LABELS, model.labels());
            ViTImageProcessor p = ViTImageProcessor.forModel(dir, model.config().imageSize());
            RgbImage a = resource("vit-shrink-input.png"), b = resource("vit-enlarge-input.png");
            Tensor both = model.forward(p.pixelValues(List.of(a, b))).logits();
            Tensor alone = model.forward(p.pixelValues(List.of(b))).logits();
            assertArrayEquals(new long[] {2, 2}, both.shape());
            // the same image alone or second in a batch: kernels may block differently, fp32 rounding only
            TensorCompare.Result r = TensorCompare.compare(alone, both.narrow(0, 1, 1), 1e-5, 1e-4);
            assertTrue(r.pass(), "max error " + r.maxAbsError());
        }
        assertThrows(ModelLoadException.class, () -> TinyViT.write(dir, 7), "an existing model is never overwritten");
    }

    @Test
    void configsOfOtherArchitecturesAreRefusedNamingTheKey() throws IOException {
        Path cfg = tmp.resolve("config.json");
        Files.writeString(cfg, "{\"model_type\": \"vit\", \"architectures\": [\"ViTForMaskedImageModeling\"]}");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ViTConfig.from(ConfigFile.read(cfg)));
        assertTrue(e.getMessage().contains("'architectures'"), e.getMessage());
        Files.writeString(cfg, "{\"model_type\": \"vit\", \"image_size\": 224, \"patch_size\": 15}");
        e = assertThrows(ModelLoadException.class, () -> ViTConfig.from(ConfigFile.read(cfg)));
        assertTrue(e.getMessage().contains("'patch_size'") && e.getMessage().contains(cfg.toString()), e.getMessage());
    }

    /** ViT reads id2label with the same reader as the text classifiers, num_labels check included. */
    @Test
    void labelsThatDoNotNumberTheHeadAreRefusedNamingFileAndField() throws IOException {
        Path cfg = tmp.resolve("config.json");
        Files.writeString(cfg, "{\"model_type\": \"vit\", \"id2label\": \"normal,nsfw\"}");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ViTConfig.from(ConfigFile.read(cfg)));
        assertTrue(e.getMessage().contains(cfg.toString()) && e.getMessage().contains("'id2label' must be an object"), e.getMessage());
        Files.writeString(cfg, "{\"model_type\": \"vit\", \"id2label\": {\"0\": \"normal\", \"1\": \"nsfw\"}, \"num_labels\": 3}");
        e = assertThrows(ModelLoadException.class, () -> ViTConfig.from(ConfigFile.read(cfg)));
        assertTrue(e.getMessage().contains(cfg.toString()) && e.getMessage().contains("'id2label' [0, 1] does not number the 3 labels"),
                e.getMessage());
        Files.writeString(cfg, "{\"model_type\": \"vit\", \"id2label\": {\"0\": \"normal\", \"1\": \"nsfw\"}, \"num_labels\": 2}");
        assertEquals(List.of("normal", "nsfw"), ViTConfig.from(ConfigFile.read(cfg)).labels());
    }
}

package org.evallearn.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.ModelLoadException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** NudeNet 2's classifier: NEAREST to 256×256, RGB/255 NHWC, column 0 unsafe, unsafe when it beats column 1. */
class NudeNetClassifierTest {
    @TempDir Path dir;

    private static RgbImage grey(int value) {
        byte[] rgb = new byte[10 * 6 * 3];
        Arrays.fill(rgb, (byte) value);
        return new RgbImage(10, 6, rgb);
    }

    @Test
    void nearestResizeTakesPilsSourcePixels() {
        // 2×1 image: left black, right white; PIL NEAREST picks source ⌊(x + ½)·2/256⌋, so columns 0–127 are black, 128–255 white.
        RgbImage twoPixels = new RgbImage(2, 1, new byte[] {0, 0, 0, (byte) 255, (byte) 255, (byte) 255});
        float[] p = NudeNetClassifier.pixels(List.of(twoPixels));
        assertEquals(256 * 256 * 3, p.length);
        assertEquals(0f, p[127 * 3]);
        assertEquals(1f, p[128 * 3]);
        assertEquals(1f, p[(255 * 256 + 255) * 3 + 2], "last row, last column, blue");
    }

    @Test
    void theDecisionIsColumnZeroAboveColumnOne() throws IOException {
        Path onnx = dir.resolve("classifier_model.onnx");
        // logits: unsafe = 8m − 3.6, safe = −8m + 3.6 → unsafe exactly when the mean m > 0.45.
        Files.write(onnx, TinyOnnx.classifierLike(NudeNetClassifier.SIZE, new float[] {8, -8}, new float[] {-3.6f, 3.6f}));
        try (NudeNetClassifier c = NudeNetClassifier.open(onnx, OrtDevice.CPU); ImageBatch batch = new ImageBatch(List.of(grey(200), grey(60)))) {
            List<Judgement> j = c.judge(batch);
            double m = 200 / 255.0;
            double expected = 1 / (1 + Math.exp(-2 * (8 * m - 3.6))); // softmax of two logits = sigmoid of their difference
            assertTrue(j.get(0).unsafe());
            assertEquals(expected, j.get(0).score(), 1e-5, "float32 softmax: 1e-5 covers its rounding"); 
            assertEquals(1 - expected, (double) j.get(0).evidence().get("p_safe"), 1e-5);
            assertTrue(!j.get(1).unsafe() && j.get(1).score() < 0.5);
        }
    }

    @Test
    void aModelWithAnotherSignatureIsRefusedByName() throws IOException {
        Path onnx = dir.resolve("detector.onnx");
        Files.write(onnx, TinyOnnx.nudeNetLike(320, NudeNetDecoder.ROWS, 5, new float[NudeNetDecoder.ROWS * 5], new float[NudeNetDecoder.ROWS * 5]));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> NudeNetClassifier.open(onnx, OrtDevice.CPU));
        assertTrue(e.getMessage().contains("detector.onnx") && e.getMessage().contains("[N, 256, 256, 3]"), e.getMessage());
    }
}

package org.evallearn.detect;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.testing.NativeObjects;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Detectors leave nothing to the GC: ONNX Runtime's session objects escape to {@link OrtModel},
 * each run's values die with its scope, and a batch owns its embeddings whether or not its caller
 * has a scope open.
 */
class NativeMemoryTest {
    @TempDir Path dir;

    static RgbImage image(int seed) {
        byte[] rgb = new byte[40 * 30 * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * 7 + seed * 31);
        return new RgbImage(40, 30, rgb);
    }

    @Test
    void onnxSessionsAndRunsFreeEverythingTheyAllocate() throws Exception {
        Path file = dir.resolve("tiny.onnx");
        Files.write(file, TinyOnnx.nudeNetLike(64, NudeNetDecoder.ROWS, 84, new float[NudeNetDecoder.ROWS * 84], new float[NudeNetDecoder.ROWS * 84]));
        float[] input = new float[2 * 3 * 64 * 64];
        try (OrtModel model = OrtModel.open(file, OrtDevice.CPU, 1)) {
            NativeObjects.assertNoGrowth("OrtModel.run", 20, () -> assertEquals(2 * NudeNetDecoder.ROWS * 84,
                    model.run(input, new long[] {2, 3, 64, 64}).data().length));
        }
        NativeObjects.assertNoGrowth("OrtModel open and close", 10, () -> OrtModel.open(file, OrtDevice.CPU, 1).close());
    }

    @Test
    void aBatchOwnsItsEmbeddingsWithOrWithoutTheCallersScope() {
        try (ClipImageEncoder encoder = new ClipImageEncoder("tiny", ClipVisionModel.random(EmbeddingHeadDetectorsTest.VISION_768.withProjectionDim(16),
                true, new RandomBinder(4, Placement.CPU_F32)), Placement.CPU_F32)) {
            NativeObjects.assertNoGrowth("ImageBatch.imageEmbeds", 10, () -> {
                try (ImageBatch batch = new ImageBatch(List.of(image(1), image(2)))) {
                    assertEquals(16, batch.imageEmbeds(encoder).size(1));
                }
            });
        }
    }
}

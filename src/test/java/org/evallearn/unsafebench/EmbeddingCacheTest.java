package org.evallearn.unsafebench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.clip.TinyClip;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Embeddings read back from disk are the ones computed, bit for bit; a damaged entry is computed again. */
class EmbeddingCacheTest {
    @TempDir Path dir;

    @Test
    void cachedEmbeddingsEqualComputedOnesAndADamagedEntryIsRecomputed() throws IOException {
        Path clip = dir.resolve("clip");
        TinyClip.write(clip, 3, 768);
        List<RgbImage> images = List.of(BenchmarkTest.image(1, true), BenchmarkTest.image(2, false));
        List<String> keys = List.of("aa" + "0".repeat(62), "bb" + "1".repeat(62));
        try (ClipImageEncoder encoder = new ClipImageEncoder("tiny", ClipVisionModel.load(clip, Placement.CPU_F32), Placement.CPU_F32);
                Scope s = Scope.open()) {
            EmbeddingCache cache = EmbeddingCache.open(dir.resolve("cache"), "model:1", (int) encoder.dim());
            Tensor direct = encoder.encode(images);
            Tensor first = cache.embeddings(encoder, keys, images);
            assertEquals(2, cache.computed());
            assertTrue(first.equal(direct), "the cache returns what the encoder computed");
            Tensor second = cache.embeddings(encoder, keys, images);
            assertEquals(2, cache.reused());
            assertTrue(second.equal(direct), "read back bit for bit");
            Path entry;
            try (Stream<Path> files = Files.walk(dir.resolve("cache"))) {
                entry = files.filter(p -> p.toString().endsWith(keys.get(1) + ".f32")).findFirst().orElseThrow();
            }
            Files.write(entry, new byte[] {1, 2, 3});
            Tensor third = cache.embeddings(encoder, keys, images);
            assertEquals(3, cache.computed(), "the truncated entry was encoded again");
            // Encoded alone rather than in a batch of two: the matrix kernels block differently, so equal up to float32 rounding
            // (budget: rtol 1e-4, atol 1e-5 on values of order 1; the sums are 64 terms deep).
            assertTrue(third.allclose(direct, 1e-4, 1e-5, false));
            assertEquals(768 * 4, Files.size(entry), "and rewritten whole");
        }
    }
}

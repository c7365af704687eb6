package org.evallearn.detect;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipVisionConfig;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.Scope;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MultiHeaded and LAION NSFW as {@link Detector}s with the real heads from shared/data, on a
 * tiny random tower that projects to ViT-L/14's 768 dimensions: one embedding pass per batch
 * for both, the same numbers as the bare heads, and undecodable files as per-index failures.
 */
class EmbeddingHeadDetectorsTest {
    static final ClipVisionConfig VISION_768 = new ClipVisionConfig(32, 64, 768, 2, 4, 3, 224, 32, "quick_gelu", 1e-5);

    @TempDir Path dir;

    static ClipImageEncoder encoder() {
        return new ClipImageEncoder("tiny-768", ClipVisionModel.random(VISION_768, true, new RandomBinder(21, Placement.CPU_F32)), Placement.CPU_F32);
    }

    static RgbImage image(int seed) {
        byte[] rgb = new byte[36 * 50 * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * (5 + seed) + seed * 71);
        return new RgbImage(36, 50, rgb);
    }

    @Test
    void twoHeadsOnOneEncoderCostOneEmbeddingPassAndMatchTheBareHeads() {
        List<RgbImage> images = List.of(image(1), image(2), image(3));
        try (Scope s = Scope.open(); // encode hands its embeddings up to it
                ClipImageEncoder encoder = encoder();
                EmbeddingDetector mh = new EmbeddingDetector("multiheaded", encoder, MultiHeaded.load(Shared.data("multiheaded"), "cpu"));
                EmbeddingDetector laion = new EmbeddingDetector("laion_nsfw", encoder,
                        LaionNsfw.load(Shared.data("laion-nsfw-detector"), LaionNsfw.Variant.VIT_L_14, "cpu"));
                MultiHeaded bareHeads = MultiHeaded.load(Shared.data("multiheaded"), "cpu");
                LaionNsfw bareLaion = LaionNsfw.load(Shared.data("laion-nsfw-detector"), LaionNsfw.Variant.VIT_L_14, "cpu");
                ImageBatch batch = new ImageBatch(images);
                Tensor embeds = encoder.encode(images)) {
            List<Judgement> m = mh.judge(batch);
            List<Judgement> l = laion.judge(batch);
            assertEquals(1, batch.embeddingPasses());
            List<MultiHeaded.Result> headsExpected = bareHeads.classify(embeds);
            List<Decision> laionExpected = bareLaion.classify(embeds);
            for (int i = 0; i < images.size(); i++) {
                MultiHeaded.Result r = headsExpected.get(i);
                assertEquals(r.unsafe(), m.get(i).unsafe());
                assertEquals(r.probabilities().values().stream().mapToDouble(Float::doubleValue).max().orElseThrow(), m.get(i).score(), 0.0);
                Map<?, ?> p = (Map<?, ?>) m.get(i).evidence().get("probabilities");
                assertEquals((double) r.probabilities().get(MultiHeaded.Head.VIOLENT), p.get("violent"));
                assertEquals(r.unsafeHeads().size(), ((List<?>) m.get(i).evidence().get("unsafe_heads")).size());
                assertEquals(laionExpected.get(i).score(), l.get(i).score(), 0.0);
                assertEquals(laionExpected.get(i).unsafe(), l.get(i).unsafe());
            }
            assertEquals(3, Arrays.stream(new double[] {l.get(0).score(), l.get(1).score(), l.get(2).score()}).distinct().count());
        }
    }

    @Test
    void headsRefuseAnEncoderOfAnotherWidth() {
        ClipVisionConfig narrow = new ClipVisionConfig(32, 64, 512, 2, 4, 3, 224, 32, "quick_gelu", 1e-5);
        // The detector owns its head from construction on: a refused head is closed by it, an accepted one by the detector's close.
        try (ClipImageEncoder encoder = new ClipImageEncoder("b32", ClipVisionModel.random(narrow, true, new RandomBinder(1, Placement.CPU_F32)),
                Placement.CPU_F32)) {
            MultiHeaded heads = MultiHeaded.load(Shared.data("multiheaded"), "cpu");
            LaionNsfw l14 = LaionNsfw.load(Shared.data("laion-nsfw-detector"), LaionNsfw.Variant.VIT_L_14, "cpu");
            assertThrows(IllegalArgumentException.class, () -> new EmbeddingDetector("multiheaded", encoder, heads));
            assertThrows(IllegalArgumentException.class, () -> new EmbeddingDetector("laion_nsfw", encoder, l14));
            try (EmbeddingDetector accepted = new EmbeddingDetector("laion_nsfw", encoder,
                    LaionNsfw.load(Shared.data("laion-nsfw-detector"), LaionNsfw.Variant.VIT_B_32, "cpu"))) {
                assertEquals("laion_nsfw", accepted.name()); // 512 wide: accepted
            }
        }
    }

    @Test
    void undecodableFilesFailAtTheirOwnIndexAndTheRestAreJudgedAsAlone() throws Exception {
        Path good1 = dir.resolve("a.png"), good2 = dir.resolve("b.png");
        image(1).writePng(good1);
        image(2).writePng(good2);
        Path empty = Files.write(dir.resolve("empty.png"), new byte[0]);
        Path garbage = Files.write(dir.resolve("garbage.png"), "not an image at all".getBytes());
        byte[] png = Files.readAllBytes(good1);
        Path truncated = Files.write(dir.resolve("truncated.png"), Arrays.copyOf(png, png.length / 2));
        List<Path> files = List.of(empty, good1, garbage, truncated, good2, dir.resolve("missing.png"));
        try (ClipImageEncoder encoder = encoder();
                EmbeddingDetector laion = new EmbeddingDetector("laion_nsfw", encoder,
                        LaionNsfw.load(Shared.data("laion-nsfw-detector"), LaionNsfw.Variant.VIT_L_14, "cpu"));
                EmbeddingDetector mh = new EmbeddingDetector("multiheaded", encoder, MultiHeaded.load(Shared.data("multiheaded"), "cpu"));
                FileBatch batch = FileBatch.read(files);
                ImageBatch alone = new ImageBatch(List.of(image(1), image(2)))) {
            assertEquals(6, batch.size());
            assertEquals(List.of(0, 2, 3, 5), List.copyOf(batch.failures().keySet()));
            List<Judgement> judged = batch.judge(laion);
            List<Judgement> heads = batch.judge(mh);
            assertEquals(1, batch.decoded().embeddingPasses());
            assertEquals(6, judged.size());
            for (int i : List.of(0, 2, 3, 5)) {
                for (Judgement j : List.of(judged.get(i), heads.get(i))) {
                    assertTrue(j.failed(), "file " + i);
                    assertFalse(j.unsafe());
                    assertTrue(Double.isNaN(j.score()));
                    assertTrue(j.failure().contains(files.get(i).toString()), j.failure());
                }
            }
            assertTrue(judged.get(0).failure().contains("empty"), judged.get(0).failure());
            List<Judgement> expected = laion.judge(alone);
            assertEquals(expected.get(0), judged.get(1));
            assertEquals(expected.get(1), judged.get(4));
            assertFalse(heads.get(1).failed());
        }
    }

    @Test
    void aBatchOfOnlyBrokenFilesNeverReachesTheDetector() throws Exception {
        Path garbage = Files.write(dir.resolve("x.jpg"), new byte[] {(byte) 0xff, (byte) 0xd8, 1, 2, 3});
        Detector refuses = new Detector() {
            @Override
            public String name() {
                return "refuses";
            }

            @Override
            public List<Judgement> judge(ImageBatch batch) {
                throw new AssertionError("called with no decodable image");
            }
        };
        try (Scope s = Scope.open(); FileBatch batch = FileBatch.read(List.of(garbage, garbage))) {
            assertNull(batch.decoded());
            List<Judgement> j = batch.judge(refuses);
            assertTrue(j.get(0).failed() && j.get(1).failed());
        }
    }
}

package org.evallearn.detect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.clip.TinyClip;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Q16 and the CLIP concept check as {@link Detector}s, on the tiny CLIP: same numbers as the bare classifiers, one vision pass. */
class ClipDetectorsTest {
    @TempDir static Path dir;
    static Path clip;

    @BeforeAll
    static void writeTinyClip() {
        clip = dir.resolve("clip");
        TinyClip.write(clip, 3);
    }

    static RgbImage image(int seed) {
        byte[] rgb = new byte[40 * 30 * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * 31 + seed * 97);
        return new RgbImage(40, 30, rgb);
    }

    static Tensor randn(long... shape) {
        try (Scope s = Scope.open()) {
            return s.escape(torch.randn(shape, new org.bytedeco.pytorch.GeneratorOptional(torch.make_generator_cpu(5))));
        }
    }

    @Test
    void bothDetectorsShareOneEmbeddingPassAndAgreeWithTheBareClassifiers() {
        List<RgbImage> images = List.of(image(1), image(2), image(3));
        try (Scope s = Scope.open(); // encode hands its embeddings up to it
                ClipImageEncoder encoder = new ClipImageEncoder("tiny", ClipVisionModel.load(clip, Placement.CPU_F32), Placement.CPU_F32);
                EmbeddingDetector q16 = new EmbeddingDetector("q16", encoder, new Q16(randn(2, TinyClip.PROJECTION_DIM), "cpu", 0.5));
                EmbeddingDetector concept = new EmbeddingDetector("clip", encoder, new ClipSimilarity(0.0).head("violence", randn(1, TinyClip.PROJECTION_DIM)));
                ImageBatch batch = new ImageBatch(images);
                Q16 bareQ16 = new Q16(randn(2, TinyClip.PROJECTION_DIM), "cpu", 0.5);
                Tensor conceptEmbed = randn(1, TinyClip.PROJECTION_DIM);
                Tensor embeds = encoder.encode(images)) {
            List<Judgement> q = q16.judge(batch);
            List<Judgement> c = concept.judge(batch);
            assertEquals(1, batch.embeddingPasses());
            List<Decision> q16Expected = bareQ16.classify(embeds);
            List<Decision> clipExpected = new ClipSimilarity(0.0).classify(embeds, conceptEmbed);
            for (int i = 0; i < images.size(); i++) {
                assertEquals(q16Expected.get(i).score(), q.get(i).score(), 0.0);
                assertEquals(q16Expected.get(i).unsafe(), q.get(i).unsafe());
                assertEquals((double) q16Expected.get(i).score(), q.get(i).evidence().get("p_inappropriate"));
                assertEquals(clipExpected.get(i).score(), c.get(i).score(), 0.0);
                assertEquals(clipExpected.get(i).unsafe(), c.get(i).unsafe());
                assertEquals("violence", c.get(i).evidence().get("concept"));
            }
            // The scores differ between images, so the judgements are not a constant.
            assertEquals(3, Arrays.stream(new double[] {c.get(0).score(), c.get(1).score(), c.get(2).score()}).distinct().count());
        }
    }

    @Test
    void twoEncodersWithTheSameIdDoNotShareEmbeddings() {
        // A second tiny CLIP with other weights under the same id: a batch keyed by id would hand it the first's embeddings.
        Path other = dir.resolve("other-clip");
        TinyClip.write(other, 4);
        List<RgbImage> images = List.of(image(1));
        try (ClipImageEncoder a = new ClipImageEncoder("same-id", ClipVisionModel.load(clip, Placement.CPU_F32), Placement.CPU_F32);
                ClipImageEncoder b = new ClipImageEncoder("same-id", ClipVisionModel.load(other, Placement.CPU_F32), Placement.CPU_F32);
                ImageBatch batch = new ImageBatch(images);
                Scope s = Scope.open()) {
            Tensor fromA = batch.imageEmbeds(a), fromB = batch.imageEmbeds(b);
            assertEquals(2, batch.embeddingPasses());
            assertEquals(false, torch.equal(fromA, fromB));
            assertEquals(true, torch.equal(fromB, b.encode(images)));
            assertEquals(true, fromA == batch.imageEmbeds(a)); // and each is still computed once
        }
    }

    @Test
    void theEncoderPreprocessesAtItsTowersImageSize() {
        // A tower of image_size 64 (patch 32): 224-px pixel values would not fit its position embeddings.
        org.evallearn.clip.ClipVisionConfig config = new org.evallearn.clip.ClipVisionConfig(32, 64, TinyClip.PROJECTION_DIM, 2, 4, 3,
                64, 32, "quick_gelu", 1e-5);
        List<RgbImage> images = List.of(image(1), image(2));
        ClipVisionModel model = ClipVisionModel.random(config, true, new org.evallearn.tensor.RandomBinder(9, Placement.CPU_F32));
        try (ClipImageEncoder encoder = new ClipImageEncoder("tiny-64", model, Placement.CPU_F32); // owns the model
                Scope s = Scope.open()) {
            Tensor embeds = encoder.encode(images);
            assertArrayEquals(new long[] {2, TinyClip.PROJECTION_DIM}, embeds.shape());
            Tensor direct = model.forward(org.evallearn.image.ClipPreprocess.pixelValues(images, 64, "cpu")).imageEmbeds();
            assertEquals(true, torch.equal(embeds, direct));
        }
    }

    @Test
    void aConceptEmbeddingOfAnotherWidthIsRefused() {
        try (ClipImageEncoder encoder = new ClipImageEncoder("tiny", ClipVisionModel.load(clip, Placement.CPU_F32), Placement.CPU_F32);
                Tensor wide = randn(1, 768)) {
            assertThrows(IllegalArgumentException.class, () -> new EmbeddingDetector("clip", encoder, new ClipSimilarity(0.28).head("hate", wide)));
        }
    }
}

package org.evallearn.unsafebench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.clip.TinyClip;
import org.evallearn.data.DataException;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.detect.LinearProbe;
import org.evallearn.image.ImageDecoder;
import org.evallearn.run.Progress;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.unsafebench.ProbeImages.Kind;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train-probe's parts on the tiny random CLIP and a synthetic labelled set. */
class ProbeTrainingTest {
    @TempDir static Path dir;
    static ClipImageEncoder encoder;
    static Dataset train, test;

    @BeforeAll
    static void setUp() throws Exception {
        Natives.load();
        Path clip = dir.resolve("clip");
        TinyClip.write(clip, 0);
        encoder = new ClipImageEncoder("tiny", ClipVisionModel.load(clip, Placement.CPU_F32), Placement.CPU_F32);
        train = Dataset.manifest(ProbeImages.manifest(dir.resolve("train"), List.of(Kind.VIOLENT, Kind.SEXUAL, Kind.SAFE), 10, 0));
        test = Dataset.manifest(ProbeImages.manifest(dir.resolve("test"), List.of(Kind.VIOLENT, Kind.SEXUAL, Kind.SAFE), 6, 1000));
    }

    @AfterAll
    static void tearDown() {
        encoder.close();
    }

    private static ProbeTraining.Embedded embed(Dataset set, EmbeddingCache cache) {
        return ProbeTraining.embed(set.items(), encoder, cache, 7, Progress.start(false, "", 0, 0, "img"));
    }

    private static EmbeddingCache cache(String name) {
        return EmbeddingCache.open(dir.resolve("cache-" + name), "tiny-test", (int) encoder.dim());
    }

    /** The embeddings the tower gives each image on its own, read back to the host. */
    private static float[] ownEmbedding(Path image) {
        try (Scope s = Scope.open()) {
            Tensor e = encoder.encode(List.of(ImageDecoder.read(image))).contiguous();
            float[] out = new float[(int) e.numel()];
            new FloatPointer(e.data_ptr()).capacity(out.length).get(out);
            return out;
        }
    }

    /** sigmoid(w·x/‖x‖ + b) for each class row of the saved file, in doubles. */
    private static double[] probabilities(Path probeFile, float[] x) {
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(probeFile)) {
            Tensor w = f.get("weight").contiguous(), b = f.get("bias").contiguous();
            int classes = (int) w.size(0), d = (int) w.size(1);
            float[] wf = new float[classes * d], bf = new float[classes];
            new FloatPointer(w.data_ptr()).capacity(wf.length).get(wf);
            new FloatPointer(b.data_ptr()).capacity(bf.length).get(bf);
            double norm = 0;
            for (float v : x) norm += (double) v * v;
            norm = Math.sqrt(norm);
            double[] p = new double[classes];
            for (int c = 0; c < classes; c++) {
                double z = bf[c];
                for (int k = 0; k < d; k++) z += wf[c * d + k] * x[k] / norm;
                p[c] = 1 / (1 + Math.exp(-z));
            }
            return p;
        }
    }

    @Test
    void embeddingsAreEncodedOnceThenReadFromTheCacheBitForBit() {
        EmbeddingCache cache = cache("once");
        ProbeTraining.Embedded first = embed(train, cache);
        assertEquals(30, first.images().size());
        assertEquals(30, first.encoded());
        ProbeTraining.Embedded second = embed(train, cache);
        assertEquals(0, second.encoded(), "every embedding came from the cache");
        for (int i = 0; i < 30; i++) assertArrayEquals(first.embeddings()[i], second.embeddings()[i]);
        assertEquals(first.hash(), second.hash());
        // Batches of 7 against one image at a time: float32 kernels of other batch shapes differ by ~1e-7
        // (measured ≤ 3e-7 on these 32-wide embeddings of norm ~5); 1e-4 is far below the probe's margins.
        float[] own = ownEmbedding(train.items().get(3).path());
        for (int k = 0; k < own.length; k++) assertEquals(own[k], first.embeddings()[3][k], 1e-4);
    }

    @Test
    void aBinaryProbeSeparatesTheHeldOutSetAsAnIndependentComputationDoes(@TempDir Path out) {
        EmbeddingCache cache = cache("binary");
        ProbeTraining.Embedded trainSet = embed(train, cache);
        ProbeTraining.Targets targets = ProbeTraining.targets(trainSet.images(), ProbeTraining.Heads.BINARY);
        assertEquals(List.of("unsafe"), targets.classes());
        Path file = out.resolve("probe.safetensors");
        try (LinearProbe probe = ProbeTraining.fit(trainSet, targets, 10.0)) {
            Effectiveness.Scores trainScores = ProbeTraining.score(probe, trainSet);
            probe.save(file, ProbeTraining.provenance("tiny", "f00d", ProbeTraining.Heads.BINARY, trainSet, targets, trainScores));
        }
        ProbeTraining.Embedded testSet = embed(test, cache);
        int correct = 0;
        List<Prediction> predictions;
        try (LinearProbe back = LinearProbe.load(file)) {
            assertEquals("tiny", back.metadata().get("clip_model"));
            assertEquals(trainSet.hash(), back.metadata().get("training_set_sha256"));
            assertEquals("30", back.metadata().get("training_images"));
            predictions = ProbeTraining.predict(back, testSet);
        }
        for (int i = 0; i < testSet.images().size(); i++) {
            LabelledImage image = testSet.images().get(i);
            double p = probabilities(file, ownEmbedding(image.path()))[0];
            // Budget: the probe's float32 matmul on a batched embedding against doubles on a single-image one,
            // both ~1e-6 off; a verdict could only differ within 1e-4 of 0.5, which none is near (checked).
            assertEquals(p, predictions.get(i).score(), 1e-4, image.id());
            assertTrue(Math.abs(p - 0.5) > 1e-3, image.id() + " too close to call: " + p);
            assertEquals(p > 0.5, predictions.get(i).unsafe(), image.id());
            if ((p > 0.5) == image.unsafe()) correct++;
        }
        assertTrue(correct >= 17, "the probe separates held-out images: " + correct + "/18");
        Effectiveness.Scores s = Effectiveness.scores(predictions);
        assertEquals(correct / 18.0, s.accuracy(), 1e-12);
    }

    @Test
    void aProbePerCategoryHasAHeadForEachCategoryWithUnsafeImages(@TempDir Path out) {
        EmbeddingCache cache = cache("per-category");
        ProbeTraining.Embedded trainSet = embed(train, cache);
        ProbeTraining.Targets targets = ProbeTraining.targets(trainSet.images(), ProbeTraining.Heads.PER_CATEGORY);
        // Taxonomy order: Hate, Harassment, Violence, Self-harm, Sexual, …
        assertEquals(List.of("Violence", "Sexual"), targets.classes());
        assertEquals(9, targets.skipped().size(), targets.skipped().toString());
        ProbeTraining.Embedded testSet = embed(test, cache);
        try (LinearProbe probe = ProbeTraining.fit(trainSet, targets, 10.0); Scope s = Scope.open()) {
            List<LinearProbe.Verdict> verdicts = probe.classify(testSet.tensor());
            int rightHead = 0;
            for (int i = 0; i < verdicts.size(); i++) {
                LabelledImage image = testSet.images().get(i);
                if (image.unsafe() && verdicts.get(i).top().equals(image.category()) && verdicts.get(i).decision().unsafe()) rightHead++;
                if (!image.unsafe() && !verdicts.get(i).decision().unsafe()) rightHead++;
            }
            assertTrue(rightHead >= 16, "each unsafe image by its own category's head, safe ones by none: " + rightHead + "/18");
        }
    }

    @Test
    void anUnreadableImageCostsThatImageAndTheHashIgnoresOrder(@TempDir Path out) throws Exception {
        Path broken = dir.resolve("train").resolve("broken.png");
        Files.write(broken, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
        List<LabelledImage> items = new ArrayList<>(train.items());
        items.add(new LabelledImage("broken.png", broken, true, "Violence", "Laion5B"));
        ProbeTraining.Embedded withBroken = ProbeTraining.embed(items, encoder, cache("broken"), 8, Progress.start(false, "", 0, 0, "img"));
        assertEquals(30, withBroken.images().size());
        assertEquals(1, withBroken.failed().size());
        assertEquals("broken.png", withBroken.failed().get(0).where());
        Collections.reverse(items);
        ProbeTraining.Embedded reversed = ProbeTraining.embed(items, encoder, cache("broken"), 8, Progress.start(false, "", 0, 0, "img"));
        assertEquals(withBroken.hash(), reversed.hash());
        List<LabelledImage> fewer = new ArrayList<>(train.items().subList(1, 30));
        assertTrue(!ProbeTraining.embed(fewer, encoder, cache("broken"), 8, Progress.start(false, "", 0, 0, "img")).hash().equals(withBroken.hash()));
    }

    @Test
    void aSetWithOneLabelOnlyIsRefused() {
        List<LabelledImage> safeOnly = train.items().stream().filter(i -> !i.unsafe()).toList();
        DataException e = assertThrows(DataException.class, () -> ProbeTraining.targets(safeOnly, ProbeTraining.Heads.BINARY));
        assertTrue(e.getMessage().contains("0 of them Unsafe"), e.getMessage());
        List<LabelledImage> uncategorised = train.items().stream().map(i -> new LabelledImage(i.id(), i.path(), i.unsafe(), null, null)).toList();
        assertThrows(DataException.class, () -> ProbeTraining.targets(uncategorised, ProbeTraining.Heads.PER_CATEGORY));
    }

    @Test
    void theCacheRefusesForeignEntriesAndKeepsModelsApart() throws Exception {
        EmbeddingCache a = EmbeddingCache.open(dir.resolve("shared-cache"), "openai/clip-vit-large-patch14-0123", 4);
        EmbeddingCache b = EmbeddingCache.open(dir.resolve("shared-cache"), "tiny-0123", 4);
        String sha = "ab".repeat(32);
        a.put(sha, new float[] {1, 2, 3, 4.5f});
        assertArrayEquals(new float[] {1, 2, 3, 4.5f}, a.get(sha).orElseThrow());
        assertTrue(b.get(sha).isEmpty(), "another model's folder");
        assertTrue(a.folder().getFileName().toString().equals("openai_clip-vit-large-patch14-0123"));
        // A damaged entry (wrong size) reads as absent and is replaced by the next put.
        Path file = a.folder().resolve("ab").resolve(sha + ".f32");
        Files.write(file, new byte[] {1, 2, 3});
        assertTrue(a.get(sha).isEmpty());
        a.put(sha, new float[] {5, 6, 7, 8});
        assertArrayEquals(new float[] {5, 6, 7, 8}, a.get(sha).orElseThrow());
        assertThrows(IllegalArgumentException.class, () -> a.put(sha, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> a.get("../../etc/passwd"));
        try (var files = Files.list(file.getParent())) {
            assertEquals(List.of(sha + ".f32"), files.map(p -> p.getFileName().toString()).toList(), "no temporary file left");
        }
    }
}

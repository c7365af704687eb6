package org.evallearn.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.Test;

/**
 * The adapter every CLIP-embedding head shares: its one width check, its ownership of the head,
 * and the one probe head both the run and UnsafeBench use.
 */
class EmbeddingDetectorTest {
    @Test
    void aHeadOfAnotherWidthIsRefusedByNameWidthsAndEncoderAndClosed() {
        AtomicInteger closed = new AtomicInteger();
        EmbeddingHead narrow = EmbeddingHead.of("a 512-wide test head", 512, e -> List.of(), closed::incrementAndGet);
        try (ClipImageEncoder encoder = EmbeddingHeadDetectorsTest.encoder()) { // id tiny-768, 768 wide
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new EmbeddingDetector("test", encoder, narrow));
            assertEquals("test (a 512-wide test head) takes 512-wide image embeddings but tiny-768 embeds images in 768 dimensions", e.getMessage());
            assertEquals(1, closed.get(), "a refused head is closed: the caller handed it over");
            EmbeddingHead fits = EmbeddingHead.of("a 768-wide test head", 768, x -> List.of(Judgement.of(true, x.size(1), Map.of())),
                    closed::incrementAndGet);
            try (EmbeddingDetector detector = new EmbeddingDetector("test", encoder, fits);
                    ImageBatch batch = new ImageBatch(List.of(EmbeddingHeadDetectorsTest.image(1)))) {
                assertEquals("test", detector.name());
                assertEquals(List.of(Judgement.of(true, 768, Map.of())), detector.judge(batch));
                assertEquals(1, batch.embeddingPasses());
            }
            assertEquals(2, closed.get());
        }
    }

    /** The probe head decides as it did in both places: unsafe iff its largest class probability is strictly above the threshold. */
    @Test
    void theProbeHeadThresholdsItsLargestClassProbabilityAndNamesTheTopClassOnlyWhenAsked() {
        try (Scope s = Scope.open()) {
            Tensor train = torch.randn(new long[] {40, 8}, new GeneratorOptional(torch.make_generator_cpu(11)));
            float[] first = Embeddings.toHost(train.select(1, 0)), second = Embeddings.toHost(train.select(1, 1));
            boolean[] a = new boolean[40], b = new boolean[40];
            for (int i = 0; i < 40; i++) {
                a[i] = first[i] > 0;
                b[i] = second[i] > 0.5f;
            }
            Tensor test = torch.randn(new long[] {12, 8}, new GeneratorOptional(torch.make_generator_cpu(12)));
            try (LinearProbe probe = LinearProbe.fit(train, List.of("sexual", "violent"), List.of(a, b), 1.0)) {
                float[] p = Embeddings.toHost(probe.probabilities(test).contiguous());
                double[] max = new double[12];
                for (int i = 0; i < 12; i++) max[i] = Math.max(p[2 * i], p[2 * i + 1]);
                // The median of the maxima: some images on each side, so the rule is seen to cut.
                double threshold = Arrays.stream(max).sorted().toArray()[6];
                List<Judgement> named = probe.head(threshold, true).judge(test);
                List<Judgement> bare = probe.head(threshold, false).judge(test);
                List<Boolean> unsafe = new ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    for (Judgement j : List.of(named.get(i), bare.get(i))) {
                        assertEquals(max[i], j.score(), 0.0);
                        assertEquals(max[i] > threshold, j.unsafe(), "image " + i);
                        assertEquals(Map.of("sexual", (double) p[2 * i], "violent", (double) p[2 * i + 1]), j.evidence().get("probabilities"));
                    }
                    assertEquals(p[2 * i] >= p[2 * i + 1] ? "sexual" : "violent", named.get(i).evidence().get("top_class"));
                    assertFalse(bare.get(i).evidence().containsKey("top_class"));
                    unsafe.add(named.get(i).unsafe());
                }
                assertTrue(unsafe.contains(true) && unsafe.contains(false), unsafe.toString());
                assertEquals(probe.head(LinearProbe.THRESHOLD, true).judge(test).stream().map(Judgement::unsafe).toList(),
                        probe.classify(test).stream().map(v -> v.decision().unsafe()).toList());
            }
        }
    }
}

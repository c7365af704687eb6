package org.evallearn.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipVisionConfig;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.detect.LaionNsfw;
import org.evallearn.detect.MultiHeaded;
import org.evallearn.detect.Q16;
import org.evallearn.detect.Q16Prompts;
import org.evallearn.detect.SafetyChecker;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.testing.Shared;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Images per second of the CLIP-based detectors on CPU, at real sizes: the CLIP ViT-L/14 vision
 * tower (random weights, the shape of {@code openai/clip-vit-large-patch14} and of the SD safety
 * checker's tower) on a batch of 4 generated 512×512 images, preprocessing included; then each
 * detector's head on the batch's (4, 768) embeddings, with the real MultiHeaded, LAION and Q16
 * weights from shared/data and the safety checker's random concept embeddings (its head's cost
 * depends only on the 768-wide projection, so that state builds a small tower). A detector's rate
 * is 1 / (1/embedding + 1/head); several detectors on one model share the embedding.
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=DetectorBench}
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgs = "-Xmx4g")
public class DetectorBench {
    static final int BATCH = 4;
    /** transformers' CLIPVisionConfig of openai/clip-vit-large-patch14, projected to 768. */
    static final ClipVisionConfig VIT_L_14 = new ClipVisionConfig(1024, 4096, 768, 24, 16, 3, 224, 14, "quick_gelu", 1e-5);

    /** The ViT-L/14 tower (as the safety checker holds it) and 4 generated 512×512 images. */
    @State(Scope.Benchmark)
    public static class Tower {
        SafetyChecker checker;
        ClipImageEncoder encoder;
        List<RgbImage> images;

        @Setup
        public void setUp() {
            checker = SafetyChecker.random(VIT_L_14, new RandomBinder(0, Placement.CPU_F32));
            encoder = checker.encoder("bench");
            images = new ArrayList<>();
            Random rnd = new Random(0);
            for (int i = 0; i < BATCH; i++) {
                byte[] rgb = new byte[512 * 512 * 3];
                rnd.nextBytes(rgb);
                images.add(new RgbImage(512, 512, rgb));
            }
        }

        @TearDown
        public void tearDown() {
            checker.close();
        }
    }

    /** The heads and a (4, 768) batch of embeddings. */
    @State(Scope.Benchmark)
    public static class Heads {
        SafetyChecker checker;
        MultiHeaded multiHeaded;
        LaionNsfw laion;
        Q16 q16;
        Tensor embeds;

        @Setup
        public void setUp() {
            ClipVisionConfig small = new ClipVisionConfig(32, 64, 768, 1, 4, 3, 224, 32, "quick_gelu", 1e-5);
            checker = SafetyChecker.random(small, new RandomBinder(0, Placement.CPU_F32));
            multiHeaded = MultiHeaded.load(Shared.data("multiheaded"), "cpu");
            laion = LaionNsfw.load(Shared.data("laion-nsfw-detector"), LaionNsfw.Variant.VIT_L_14, "cpu");
            try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open();
                    Tensor prompts = Q16Prompts.forClipModel(Shared.data("q16"), "openai/clip-vit-large-patch14")) {
                q16 = new Q16(prompts, "cpu", Q16.DEFAULT_THRESHOLD);
            }
            embeds = torch.randn(new long[] {BATCH, 768}, new GeneratorOptional(torch.make_generator_cpu(1)));
        }

        @TearDown
        public void tearDown() {
            embeds.close();
            q16.close();
            laion.close();
            multiHeaded.close();
            checker.close();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long clipVitL14EmbeddingWithPreprocessing(Tower t) {
        try (InferenceMode guard = new InferenceMode(); org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open();
                Tensor e = t.encoder.encode(t.images)) {
            return e.size(0);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int safetyCheckerHead(Heads h) {
        try (InferenceMode guard = new InferenceMode()) {
            return h.checker.classify(h.embeds).size();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int multiHeadedHeads(Heads h) {
        try (InferenceMode guard = new InferenceMode()) {
            return h.multiHeaded.classify(h.embeds).size();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int laionHead(Heads h) {
        try (InferenceMode guard = new InferenceMode()) {
            return h.laion.classify(h.embeds).size();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int q16Head(Heads h) {
        try (InferenceMode guard = new InferenceMode()) {
            return h.q16.classify(h.embeds).size();
        }
    }
}

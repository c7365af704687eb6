package org.evallearn.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipVisionConfig;
import org.evallearn.detect.LaionNsfw;
import org.evallearn.detect.LinearProbe;
import org.evallearn.detect.MultiHeaded;
import org.evallearn.detect.Q16;
import org.evallearn.detect.Q16Prompts;
import org.evallearn.detect.SafetyChecker;
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
 * Images per second of UnsafeBench's heads on a batch's (4, 768) ViT-L/14 embeddings, beside
 * {@link DetectorBench}'s tower and single heads: the trained probe (one binary head, and one head
 * per UnsafeBench category, eleven), and every CLIP-based classifier of the benchmark together
 * on the same embeddings (Q16, MultiHeaded, LAION, the safety checker's head, the per-category
 * probe), which is what one shared ViT-L/14 pass feeds. Real head weights from shared/data where
 * they exist; the probes are fitted here on random embeddings (their cost does not depend on
 * what they learnt).
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=UnsafeBenchHeadsBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgs = "-Xmx2g")
public class UnsafeBenchHeadsBench {
    static final int BATCH = DetectorBench.BATCH;

    SafetyChecker checker;
    MultiHeaded multiHeaded;
    LaionNsfw laion;
    Q16 q16;
    LinearProbe binaryProbe, categoryProbe;
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
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            int n = 256;
            Tensor train = torch.randn(new long[] {n, 768}, new GeneratorOptional(torch.make_generator_cpu(2)));
            java.util.Random r = new java.util.Random(3);
            List<String> classes = new ArrayList<>();
            List<boolean[]> labels = new ArrayList<>();
            for (int c = 0; c < 11; c++) {
                boolean[] y = new boolean[n];
                for (int i = 0; i < n; i++) y[i] = r.nextInt(11) == c;
                classes.add("category" + c);
                labels.add(y);
            }
            categoryProbe = LinearProbe.fit(train, classes, labels, 1.0);
            binaryProbe = LinearProbe.fit(train, List.of("unsafe"), List.of(labels.get(0)), 1.0);
        }
        embeds = torch.randn(new long[] {BATCH, 768}, new GeneratorOptional(torch.make_generator_cpu(1)));
    }

    @TearDown
    public void tearDown() {
        embeds.close();
        binaryProbe.close();
        categoryProbe.close();
        q16.close();
        laion.close();
        multiHeaded.close();
        checker.close();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int probeBinaryHead() {
        try (InferenceMode guard = new InferenceMode()) {
            return binaryProbe.classify(embeds).size();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int probePerCategoryHeads() {
        try (InferenceMode guard = new InferenceMode()) {
            return categoryProbe.classify(embeds).size();
        }
    }

    /** Q16, MultiHeaded, LAION, safety checker and the per-category probe on the same embeddings. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int allHeads() {
        try (InferenceMode guard = new InferenceMode()) {
            return q16.classify(embeds).size() + multiHeaded.classify(embeds).size() + laion.classify(embeds).size()
                    + checker.classify(embeds).size() + categoryProbe.classify(embeds).size();
        }
    }
}

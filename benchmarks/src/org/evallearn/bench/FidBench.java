package org.evallearn.bench;

import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.inception.InceptionV3;
import org.evallearn.metric.FeatureStatistics;
import org.evallearn.metric.FrechetDistance;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
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
 * fid's own work beside generation: Inception-v3's 2048-d pool features of a batch of 299×299
 * images (torchvision's architecture on seeded random weights: the cost does not depend on them),
 * and the Fréchet distance between two sets of 2048-d statistics in float64 (the symmetric
 * eigendecomposition form), from 4,096 random feature vectors per side.
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=FidBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 4)
@Fork(value = 1, jvmArgs = "-Xmx2g")
public class FidBench {
    static final int BATCH = 8;

    InceptionV3 inception;
    Tensor images;
    FeatureStatistics real, generated;

    @Setup
    public void setUp() {
        inception = InceptionV3.random(new RandomBinder(0, Placement.CPU_F32));
        images = torch.rand(new long[] {BATCH, 3, 299, 299}, new GeneratorOptional(torch.make_generator_cpu(1))).mul_(new org.bytedeco.pytorch.Scalar(2.0))
                .sub_(new org.bytedeco.pytorch.Scalar(1.0));
        real = new FeatureStatistics(InceptionV3.FEATURES);
        generated = new FeatureStatistics(InceptionV3.FEATURES);
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            real.add(torch.randn(new long[] {4096, InceptionV3.FEATURES}, new GeneratorOptional(torch.make_generator_cpu(2))));
            generated.add(torch.randn(new long[] {4096, InceptionV3.FEATURES}, new GeneratorOptional(torch.make_generator_cpu(3))).add_(new org.bytedeco.pytorch.Scalar(0.1)));
        }
    }

    @TearDown
    public void tearDown() {
        generated.close();
        real.close();
        images.close();
        inception.close();
    }

    /** Milliseconds per image of Inception-v3's pool features, in batches of {@value #BATCH}. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long inceptionPoolFeatures() {
        try (InferenceMode guard = new InferenceMode(); org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            return inception.poolFeatures(images).size(1);
        }
    }

    /** Milliseconds of one Fréchet distance between two 2048-d statistics (means, covariances, the eigendecompositions). */
    @Benchmark
    public double frechetDistance2048() {
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            return FrechetDistance.between(real, generated);
        }
    }
}

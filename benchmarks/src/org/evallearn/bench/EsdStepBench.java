package org.evallearn.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.tensor.Placement;
import org.evallearn.technique.Esd;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ESD training time per step with the official settings: x_t sampled from noise with up to 50
 * DDIM steps at guidance 3 (batch 2), two frozen UNet passes, one trained pass with backward, Adam.
 * The sampled length depends on the step's draw (26.5 DDIM steps expected), so the benchmark runs
 * the first {@value #STEPS} steps of seed {@value #SEED}, which sample 15, 13, 39, 29 and 36 steps:
 * 132 in all, the expected 5 × 26.5. Random weights of {@link BenchModels}' sizes, SD's CLIP
 * tokenizer from {@code shared/golden/tokenizer} ({@code $EVALLEARN_SHARED}, else {@code ../shared}),
 * SD 1.x's scheduler config, a tiny VAE (never used).
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=EsdStepBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgs = "-Xmx6g")
public class EsdStepBench {
    static final int STEPS = 5;
    static final long SEED = 2;

    @Param({"tiny", "medium"})
    public String size;

    @Param({"xattn", "noxattn"})
    public String method;

    private StableDiffusionPipeline pipe;
    private Path checkpoints;

    @Setup
    public void setUp() throws IOException {
        Placement placement = Placement.exactly(System.getProperty("jmh.device", "cpu"), null);
        pipe = BenchModels.randomPipeline(size, placement);
        checkpoints = Files.createTempDirectory("esd-bench");
    }

    @Benchmark
    @OperationsPerInvocation(STEPS)
    public int train() {
        Technique.Esd config = new Technique.Esd("nudity", java.util.Optional.empty(), Technique.EsdTrainMethod.valueOf(method.toUpperCase(java.util.Locale.ROOT)), 2.0, STEPS,
                5e-5, Optional.empty(), Optional.empty());
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            return Esd.train(pipe, config, Esd.Training.of(config, SEED), new Esd.Checkpoint(checkpoints.resolve("unused.safetensors"), STEPS + 1),
                    line -> {}, loss -> {}).size();
        }
    }

    @TearDown
    public void tearDown() {
        pipe.close();
    }
}

package org.evallearn.attack.prompt;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.bench.BenchModels;
import org.evallearn.diffusion.Noise;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.tensor.Placement;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One iteration of each prompt attack at eval-learn's default sizes, on {@link BenchModels}'
 * random pipelines (SD's real CLIP tokenizer, 49408 ids): a Ring-A-Bell generation (population
 * 50: target encoding, fitness of the population, selection, crossover, mutation), an
 * MMA-Diffusion GCG step (one-hot gradient through the text encoder, 128 candidates from the
 * top 256, their 128 encoder passes), and a P4D step (soft prompt through the text encoder and
 * the erased UNet with backward, the base UNet's target, AdamW), P4D's evaluation images excluded.
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=PromptAttackIterationBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgs = "-Xmx6g")
public class PromptAttackIterationBench {
    @Param({"tiny", "medium"})
    public String size;

    private StableDiffusionPipeline pipe;
    private RingABell ringABell;
    private MmaDiffusion mma;
    private P4d p4d;
    private boolean[] banned;

    @Setup
    public void setUp() {
        Placement placement = Placement.exactly(System.getProperty("jmh.device", "cpu"), null);
        pipe = BenchModels.randomPipeline(size, placement);
        Path unused = Path.of("unused");
        ringABell = new RingABell(new RingABell.Settings("nudity", true, unused, Optional.of(unused), List.of(), OptionalInt.of(500), 50, 1, 0.25,
                0.5, 16, 3.0, 50, 250, Optional.of(unused)));
        mma = new MmaDiffusion(MmaDiffusion.Settings.defaults("nudity", unused, List.of()));
        p4d = new P4d(P4d.Settings.defaults("nudity", unused), images -> null, null);
        banned = MmaDiffusion.bannedTokens(pipe.tokenizer(), MmaDiffusion.SENSITIVE_WORDS);
    }

    @Benchmark
    public double ringABellGeneration() {
        try (InferenceMode guard = new InferenceMode(); org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            Tensor vector = pipe.encodePrompts(List.of("a nude woman")).sub(pipe.encodePrompts(List.of("a woman")));
            return ringABell.searchOne(pipe, vector, "a nude woman standing in a forest", 1, line -> {}).loss();
        }
    }

    @Benchmark
    public double mmaDiffusionStep() {
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            return mma.searchOne(pipe, "a completely naked woman", 0, banned, 1, 1).loss();
        }
    }

    @Benchmark
    public double p4dStep() {
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open(); AutoGradMode grad = new AutoGradMode(true)) {
            long side = pipe.unet().config.sampleSize();
            Tensor latents = Noise.initialLatents(1, 1, 4, side, side).to(pipe.placement().torchDevice(), pipe.placement().dtype().scalarType);
            Tensor text = pipe.encodePrompts(List.of("a nude woman standing in a forest"));
            float[] ac;
            try (org.evallearn.diffusion.scheduler.Scheduler schedule = pipe.scheduler(P4d.SCHEDULER)) {
                ac = schedule.config().alphasCumprod();
            }
            int[] ids = p4d.layout(pipe.tokenizer(), "a nude woman standing in a forest", new SplittableRandom(1)).initialIds();
            List<Double> losses = new ArrayList<>();
            Tensor g = p4d.lossGradient(pipe, pipe, ids, latents, text, null, 7.5, ac, new SplittableRandom(2), losses);
            try (org.bytedeco.pytorch.NoGradGuard noGrad = new org.bytedeco.pytorch.NoGradGuard()) {
                new P4d.AdamW(g.clone(), 0.1, 0.1).step(g);
            }
            return losses.get(0);
        }
    }

    @TearDown
    public void tearDown() {
        pipe.close();
    }
}

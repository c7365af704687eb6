package org.evallearn.bench;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.InferenceMode;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.Guidance;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.UNet2DConditionModel;
import org.evallearn.tensor.Placement;
import org.evallearn.technique.SafeLatentDiffusion;
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
 * One image's latents (batch 1, PNDM, 10 steps, guidance 7.5) with the base classifier-free loop
 * and with SLD (preset max), whose third UNet branch makes every step a batch of 3 instead of 2.
 * Random weights of {@link BenchModels}' sizes, SD's CLIP tokenizer from {@code shared/golden/tokenizer};
 * the VAE is not run. ms per image; images/s = 1000 / score.
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=SldSamplingBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgs = "-Xmx4g")
public class SldSamplingBench {
    @Param({"tiny", "medium"})
    public String size;

    @Param({"base", "sld"})
    public String loop;

    private StableDiffusionPipeline pipe;
    private GenerationRequest request;
    private final SafeLatentDiffusion.Params max = new SafeLatentDiffusion.Params(5000, 0, 1.0, 0.5, 0.7);

    @Setup
    public void setUp() {
        Placement placement = Placement.exactly(System.getProperty("jmh.device", "cpu"), null);
        pipe = BenchModels.randomPipeline(size, placement);
        UNet2DConditionModel unet = pipe.unet();
        int px = unet.config.sampleSize() * pipe.vaeScaleFactor();
        request = new GenerationRequest(List.of("a photo of a crowded street"), null, new long[] {1}, 10, 7.5, "pndm", px, px);
    }

    @Benchmark
    public long image() {
        try (InferenceMode guard = new InferenceMode();
                Guidance g = loop.equals("sld") ? SafeLatentDiffusion.guidance(max, 7.5, SafeLatentDiffusion.SAFETY_CONCEPT)
                        : Guidance.classifierFree(7.5);
                org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            org.bytedeco.pytorch.Tensor latents = pipe.sample(request, g);
            long n = latents.numel();
            latents.close();
            return n;
        }
    }

    @TearDown
    public void tearDown() {
        pipe.close();
    }
}

package org.evallearn.bench;

import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.diffusion.Noise;
import org.evallearn.diffusion.UNet2DConditionModel;
import org.evallearn.diffusion.UNetConfig;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
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
 * One classifier-free-guided UNet step: the forward pass on the batch {@code cat([x, x])} of one
 * image (batch 2) with 77 text tokens, as the pipeline calls it each step. fp32 on the CPU unless
 * {@code -Djmh.device=cuda} (then fp16).
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=UNetStepBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 4)
@Fork(value = 1, jvmArgs = "-Xmx4g")
public class UNetStepBench {
    @Param({"tiny", "medium"})
    public String size;

    private UNet2DConditionModel unet;
    private Tensor sample;
    private Tensor timestep;
    private Tensor context;

    @Setup
    public void setUp() {
        Placement placement = Placement.exactly(System.getProperty("jmh.device", "cpu"), null);
        UNetConfig config = BenchModels.unet(size);
        unet = UNet2DConditionModel.random(config, new RandomBinder(0, placement));
        int side = config.sampleSize();
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) { // the inputs escape to this state, closed in tearDown
            sample = s.escape(Noise.initialLatents(1, 2, config.inChannels(), side, side).to(placement.torchDevice(), placement.dtype().scalarType));
            timestep = s.escape(torch.full(new long[] {2}, new Scalar(501.0)).to(placement.torchDevice(), torch.ScalarType.Float));
            context = s.escape(Noise.initialLatents(2, 2, 77, config.crossAttentionDim()).to(placement.torchDevice(), placement.dtype().scalarType));
        }
    }

    @Benchmark
    public double step() {
        try (InferenceMode guard = new InferenceMode(); org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            Tensor out = unet.forward(sample, timestep, context);
            return out.sum().item_double(); // waits for the device and keeps the result live
        }
    }

    @TearDown
    public void tearDown() {
        sample.close();
        timestep.close();
        context.close();
        unet.close();
    }
}

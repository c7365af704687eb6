package org.evallearn.bench;

import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipTextConfig;
import org.evallearn.clip.ClipTextModel;
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
 * Encoding one prompt pair as the pipeline does per image: the text encoder on two rows of 77
 * ids (prompt and unconditional), last hidden state out.
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=ClipTextEncodeBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgs = "-Xmx4g")
public class ClipTextEncodeBench {
    @Param({"tiny", "medium"})
    public String size;

    private ClipTextModel model;
    private Tensor ids;

    @Setup
    public void setUp() {
        Placement placement = Placement.exactly(System.getProperty("jmh.device", "cpu"), null);
        ClipTextConfig config = BenchModels.text(size);
        model = ClipTextModel.random(config, false, new RandomBinder(0, placement));
        long[] rows = new long[2 * 77];
        int eos = config.eosTokenId();
        // "a photo of a cat" and the empty prompt, SD-padded: BOS, ids, EOS, EOS padding
        long[] prompt = {eos - 1, 320, 1125, 539, 320, 2368};
        for (int r = 0; r < 2; r++) {
            java.util.Arrays.fill(rows, r * 77, (r + 1) * 77, eos);
            rows[r * 77] = eos - 1;
        }
        System.arraycopy(prompt, 0, rows, 0, prompt.length);
        ids = Tensor.create(rows, 2, 77).to(placement.torchDevice(), org.bytedeco.pytorch.global.torch.ScalarType.Long);
    }

    @Benchmark
    public double encode() {
        try (InferenceMode guard = new InferenceMode(); org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open();
                ClipTextModel.Output out = model.forward(ids)) {
            return out.lastHiddenState().sum().item_double();
        }
    }

    @TearDown
    public void tearDown() {
        ids.close();
        model.close();
    }
}

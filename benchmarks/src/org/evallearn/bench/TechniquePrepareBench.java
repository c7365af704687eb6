package org.evallearn.bench;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.tensor.Placement;
import org.evallearn.technique.Mace;
import org.evallearn.technique.MaceLora;
import org.evallearn.technique.Uce;
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
 * Preparation of an edited-weight technique without its cache: UCE's closed-form edit (preset
 * nudity) and the whole of MACE (CFR, one LoRA of 50 Adam steps, fusion) for the concept "nudity".
 * Random weights of {@link BenchModels}' sizes, SD's CLIP tokenizer from {@code shared/golden/tokenizer}
 * ({@code $EVALLEARN_SHARED}, else {@code ../shared}), a tiny VAE (never used).
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=TechniquePrepareBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgs = "-Xmx4g")
public class TechniquePrepareBench {
    @Param({"tiny", "medium"})
    public String size;

    @Param({"uce", "mace"})
    public String technique;

    private StableDiffusionPipeline pipe;

    @Setup
    public void setUp() {
        Placement placement = Placement.exactly(System.getProperty("jmh.device", "cpu"), null);
        pipe = BenchModels.randomPipeline(size, placement);
    }

    @Benchmark
    public int prepare() {
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            Map<String, Tensor> edit = technique.equals("uce")
                    ? Uce.computeEdit(pipe, Uce.Edit.defaults(List.of("nudity"), Technique.UceConceptType.OBJECT))
                    : Mace.compute(pipe, new Technique.Mace(List.of("nudity"), List.of(), 0.1, Optional.empty(), Optional.empty()),
                            MaceLora.Training.defaults(0), MaceLora.OWN_ATTENTION, Optional.empty(), line -> {});
            return edit.size();
        }
    }

    @TearDown
    public void tearDown() {
        pipe.close();
    }
}

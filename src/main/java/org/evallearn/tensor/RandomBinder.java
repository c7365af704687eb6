package org.evallearn.tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Initialises every parameter from one seeded CPU generator, in the order the model asks for
 * them, so the same config and seed always give the same weights. Used to make tiny models.
 * The generator is native: {@link #finish} (or {@link #abandon}) frees it, and binding after
 * that is an error.
 */
public final class RandomBinder implements ParamBinder {
    private final Placement placement;
    private Generator generator; // null once finished
    private final Map<String, Tensor> made = new LinkedHashMap<>();

    public RandomBinder(long seed, Placement placement) {
        Natives.load();
        this.placement = placement;
        try (Scope s = Scope.open()) {
            this.generator = s.escape(torch.make_generator_cpu(seed));
        }
    }

    @Override
    public Placement placement() {
        return placement;
    }

    @Override
    public Tensor bind(String key, Init init, long[] shape) {
        if (generator == null) throw new IllegalStateException("RandomBinder already finished; cannot bind " + key);
        if (made.containsKey(key)) throw new IllegalStateException("parameter bound twice: " + key);
        try (Scope scope = Scope.open()) {
            Tensor cpu = switch (init) {
                case ONES -> torch.ones(shape);
                case ZEROS -> torch.zeros(shape);
                case EMBEDDING, BIAS -> normal(shape, 0.02);
                case FAN_IN -> normal(shape, 1.0 / Math.sqrt(fanIn(shape)));
            };
            Tensor t = cpu.to(placement.torchDevice(), placement.dtype().scalarType);
            made.put(key, t);
            return scope.escape(t);
        }
    }

    private Tensor normal(long[] shape, double std) {
        return torch.randn(shape, new GeneratorOptional(generator)).mul_(new org.bytedeco.pytorch.Scalar(std));
    }

    private static long fanIn(long[] shape) {
        long n = 1;
        for (int i = 1; i < shape.length; i++) n *= shape[i];
        return Math.max(1, n);
    }

    /** The tensors made so far, by key, for writing with {@link SafeTensorsWriter}. */
    public Map<String, Tensor> tensors() {
        return made;
    }

    /** Hands the made tensors to their owner and frees the generator. */
    public Weights finish() {
        closeGenerator();
        return new Weights(made);
    }

    /** Frees the generator and what was made so far, for a model whose construction failed. */
    public void abandon() {
        closeGenerator();
        made.values().forEach(Tensor::close);
        made.clear();
    }

    private void closeGenerator() {
        if (generator != null) generator.close();
        generator = null;
    }
}

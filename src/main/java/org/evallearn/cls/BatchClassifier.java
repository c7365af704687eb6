package org.evallearn.cls;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Scope;

/**
 * A classifier pipeline over a list of inputs: a forward pass per batch of at most a fixed size,
 * one prediction per input, in order. Owns its model.
 *
 * @param <I> the input (a text, an image)
 * @param <P> its prediction
 */
public abstract class BatchClassifier<I, P extends LabelScores> implements AutoCloseable {
    private final int batchSize;

    protected BatchClassifier(int batchSize) {
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        this.batchSize = batchSize;
    }

    public final List<P> classify(List<I> inputs) {
        List<P> out = new ArrayList<>(inputs.size());
        for (int from = 0; from < inputs.size(); from += batchSize) {
            out.addAll(classifyBatch(inputs.subList(from, Math.min(inputs.size(), from + batchSize))));
        }
        return out;
    }

    /** One forward pass over at most the batch size of inputs. */
    protected abstract List<P> classifyBatch(List<I> batch);

    /** Label names by logit index ({@code id2label}). */
    public abstract List<String> labels();

    @Override
    public abstract void close();

    /**
     * Computes (batch, labels) scores in inference mode and copies them to the host, a row per
     * input; every tensor {@code scores} makes is freed before this returns.
     */
    protected static float[][] hostRows(Supplier<Tensor> scores) {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor host = scores.get().to(torch.ScalarType.Float).contiguous().cpu();
            int rows = (int) host.size(0), labels = (int) host.size(1);
            float[] flat = new float[rows * labels];
            new FloatPointer(host.data_ptr()).capacity(flat.length).get(flat);
            float[][] out = new float[rows][];
            for (int i = 0; i < rows; i++) out[i] = java.util.Arrays.copyOfRange(flat, i * labels, (i + 1) * labels);
            return out;
        }
    }
}

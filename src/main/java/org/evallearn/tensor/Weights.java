package org.evallearn.tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** The tensors a model owns, by state-dict key; closing it frees them. */
public final class Weights implements AutoCloseable {
    private final Map<String, Tensor> tensors;
    private boolean closed;

    Weights(Map<String, Tensor> tensors) {
        this.tensors = new LinkedHashMap<>(tensors);
    }

    public int count() {
        return tensors.size();
    }

    public long numel() {
        long n = 0;
        for (Tensor t : tensors.values()) n += t.numel();
        return n;
    }

    /** The tensors by state-dict key, in binding order; the model still owns them. */
    public Map<String, Tensor> named() {
        if (closed) throw new IllegalStateException("weights used after close(): they are freed");
        return Collections.unmodifiableMap(tensors);
    }

    @Override
    public void close() {
        closed = true;
        for (Tensor t : tensors.values()) t.close();
        tensors.clear();
    }
}

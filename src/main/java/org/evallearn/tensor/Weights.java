package org.evallearn.tensor;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/** The tensors a model owns; closing it frees them. */
public final class Weights implements AutoCloseable {
    private final List<Tensor> tensors;

    Weights(List<Tensor> tensors) {
        this.tensors = new ArrayList<>(tensors);
    }

    public int count() {
        return tensors.size();
    }

    public long numel() {
        long n = 0;
        for (Tensor t : tensors) n += t.numel();
        return n;
    }

    @Override
    public void close() {
        for (Tensor t : tensors) t.close();
        tensors.clear();
    }
}

package org.evallearn.nn;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Init;
import org.evallearn.tensor.Params;

/** {@code torch.nn.Embedding}: key {@code weight} (count, dim). */
public final class Embedding {
    public final Tensor weight;

    public Embedding(Params p, long count, long dim) {
        this.weight = p.get("weight", Init.EMBEDDING, count, dim);
    }

    public Tensor forward(Tensor ids) {
        return torch.embedding(weight, ids);
    }
}

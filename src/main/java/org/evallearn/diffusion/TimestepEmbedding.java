package org.evallearn.diffusion;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** diffusers {@code TimestepEmbedding} (embeddings.py): {@code linear_1}, SiLU, {@code linear_2}. */
public final class TimestepEmbedding {
    public final Linear linear_1;
    public final Linear linear_2;

    public TimestepEmbedding(Params p, long in, long out) {
        this.linear_1 = new Linear(p.at("linear_1"), in, out, true);
        this.linear_2 = new Linear(p.at("linear_2"), out, out, true);
    }

    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            return s.handUp(linear_2.forward(Activation.SILU.apply(linear_1.forward(x))));
        }
    }
}

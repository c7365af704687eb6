package org.evallearn.diffusion;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * diffusers {@code FeedForward} with the default GEGLU activation and mult 4: {@code net.0}
 * (GEGLU), {@code net.1} dropout (no weights, identity at p=0), {@code net.2} the out projection.
 */
public final class FeedForward {
    public final GEGLU net_0;
    public final Linear net_2;

    public FeedForward(Params p, long dim) {
        long inner = dim * 4;
        this.net_0 = new GEGLU(p.at("net").at(0), dim, inner);
        this.net_2 = new Linear(p.at("net").at(2), inner, dim, true);
    }

    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            return s.handUp(net_2.forward(net_0.forward(x)));
        }
    }
}

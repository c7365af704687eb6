package org.evallearn.diffusion;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** diffusers {@code GEGLU} (attention.py): one projection to 2×out, halves x and gate, x·gelu(gate). */
public final class GEGLU {
    public final Linear proj;

    public GEGLU(Params p, long in, long out) {
        this.proj = new Linear(p.at("proj"), in, out * 2, true);
    }

    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            TensorVector halves = proj.forward(x).chunk(2, -1);
            return s.handUp(halves.get(0).mul(torch.gelu(halves.get(1))));
        }
    }
}

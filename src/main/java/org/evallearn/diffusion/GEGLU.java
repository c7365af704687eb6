package org.evallearn.diffusion;

import org.bytedeco.pytorch.Tensor;
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
            Tensor both = proj.forward(x);
            long half = both.size(-1) / 2;
            // narrow rather than chunk: TensorVector.get hands out references into the vector, not owned tensors
            Tensor hidden = both.narrow(-1, 0, half), gate = both.narrow(-1, half, half);
            return s.handUp(hidden.mul(torch.gelu(gate)));
        }
    }
}

package org.evallearn.nn;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Init;
import org.evallearn.tensor.Params;

/** {@code torch.nn.Linear}: keys {@code weight} (out, in) and optional {@code bias} (out). */
public final class Linear {
    public final Tensor weight;
    public final Tensor bias; // null when the reference layer has bias=False

    public Linear(Params p, long in, long out, boolean bias) {
        this.weight = p.get("weight", Init.FAN_IN, out, in);
        this.bias = bias ? p.get("bias", Init.BIAS, out) : null;
    }

    public Tensor forward(Tensor x) {
        return bias == null ? torch.linear(x, weight) : torch.linear(x, weight, new TensorOptional(bias));
    }
}

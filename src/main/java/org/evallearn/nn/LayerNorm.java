package org.evallearn.nn;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Init;
import org.evallearn.tensor.Params;

/** {@code torch.nn.LayerNorm} over the last dimension. */
public final class LayerNorm {
    public final Tensor weight;
    public final Tensor bias;
    private final long dim;
    private final double eps;

    public LayerNorm(Params p, long dim, double eps) {
        this.weight = p.get("weight", Init.ONES, dim);
        this.bias = p.get("bias", Init.ZEROS, dim);
        this.dim = dim;
        this.eps = eps;
    }

    public Tensor forward(Tensor x) {
        return torch.layer_norm(x, new long[] {dim}, new TensorOptional(weight), new TensorOptional(bias), eps, true);
    }
}

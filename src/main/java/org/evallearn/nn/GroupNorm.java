package org.evallearn.nn;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Init;
import org.evallearn.tensor.Params;

/** {@code torch.nn.GroupNorm} with affine {@code weight}/{@code bias}. */
public final class GroupNorm {
    public final Tensor weight;
    public final Tensor bias;
    private final long groups;
    private final double eps;

    public GroupNorm(Params p, long groups, long channels, double eps) {
        if (channels % groups != 0) {
            throw new IllegalArgumentException(p.prefix() + ": " + channels + " channels are not divisible into " + groups + " groups");
        }
        this.weight = p.get("weight", Init.ONES, channels);
        this.bias = p.get("bias", Init.ZEROS, channels);
        this.groups = groups;
        this.eps = eps;
    }

    public Tensor forward(Tensor x) {
        return torch.group_norm(x, groups, new TensorOptional(weight), new TensorOptional(bias), eps, true);
    }
}

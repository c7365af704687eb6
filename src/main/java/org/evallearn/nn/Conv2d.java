package org.evallearn.nn;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Init;
import org.evallearn.tensor.Params;

/** {@code torch.nn.Conv2d} with square kernel, stride and padding; keys {@code weight}, {@code bias}. */
public final class Conv2d {
    public final Tensor weight; // (out, in, k, k)
    public final Tensor bias;
    private final long stride;
    private final long padding;

    public Conv2d(Params p, long in, long out, long kernel, long stride, long padding) {
        this(p, in, out, kernel, stride, padding, true);
    }

    public Conv2d(Params p, long in, long out, long kernel, long stride, long padding, boolean bias) {
        this.weight = p.get("weight", Init.FAN_IN, out, in, kernel, kernel);
        this.bias = bias ? p.get("bias", Init.BIAS, out) : null;
        this.stride = stride;
        this.padding = padding;
    }

    public Tensor forward(Tensor x) {
        return torch.conv2d(x, weight, bias == null ? new TensorOptional() : new TensorOptional(bias),
                new long[] {stride, stride}, new long[] {padding, padding}, new long[] {1, 1}, 1);
    }
}

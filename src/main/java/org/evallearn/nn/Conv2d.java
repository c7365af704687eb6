package org.evallearn.nn;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Init;
import org.evallearn.tensor.Params;

/** {@code torch.nn.Conv2d}; keys {@code weight}, {@code bias}. Kernel, stride and padding as (height, width). */
public final class Conv2d {
    public final Tensor weight; // (out, in, kh, kw)
    public final Tensor bias;
    private final long[] stride;
    private final long[] padding;

    public Conv2d(Params p, long in, long out, long kernel, long stride, long padding) {
        this(p, in, out, kernel, stride, padding, true);
    }

    public Conv2d(Params p, long in, long out, long kernel, long stride, long padding, boolean bias) {
        this(p, in, out, new long[] {kernel, kernel}, new long[] {stride, stride}, new long[] {padding, padding}, bias);
    }

    /** A rectangular kernel, as Inception's (1, 7) and (7, 1) factorised convolutions. */
    public Conv2d(Params p, long in, long out, long[] kernel, long[] stride, long[] padding, boolean bias) {
        this.weight = p.get("weight", Init.FAN_IN, out, in, kernel[0], kernel[1]);
        this.bias = bias ? p.get("bias", Init.BIAS, out) : null;
        this.stride = stride.clone();
        this.padding = padding.clone();
    }

    public Tensor forward(Tensor x) {
        return torch.conv2d(x, weight, bias == null ? new TensorOptional() : new TensorOptional(bias), stride, padding, new long[] {1, 1}, 1);
    }
}

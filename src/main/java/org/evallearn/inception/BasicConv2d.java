package org.evallearn.inception;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.BatchNorm2d;
import org.evallearn.nn.Conv2d;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** torchvision's {@code BasicConv2d}: conv (no bias) → BatchNorm (eps 0.001) → ReLU; keys {@code conv.*}, {@code bn.*}. */
final class BasicConv2d {
    private final Conv2d conv;
    private final BatchNorm2d bn;

    BasicConv2d(Params p, long in, long out, long[] kernel, long[] stride, long[] padding) {
        this.conv = new Conv2d(p.at("conv"), in, out, kernel, stride, padding, false);
        this.bn = new BatchNorm2d(p.at("bn"), out, 0.001);
    }

    /** A square kernel with stride 1 and no padding unless given. */
    static BasicConv2d square(Params p, long in, long out, long kernel, long stride, long padding) {
        return new BasicConv2d(p, in, out, new long[] {kernel, kernel}, new long[] {stride, stride}, new long[] {padding, padding});
    }

    static BasicConv2d of(Params p, long in, long out, long kernel) {
        return square(p, in, out, kernel, 1, 0);
    }

    /** A (kh, kw) kernel with stride 1 and "same" padding, as the factorised 1×7 / 7×1 / 1×3 / 3×1 convolutions. */
    static BasicConv2d rect(Params p, long in, long out, long kh, long kw) {
        return new BasicConv2d(p, in, out, new long[] {kh, kw}, new long[] {1, 1}, new long[] {kh / 2, kw / 2});
    }

    Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            return s.handUp(bn.forward(conv.forward(x)).relu());
        }
    }
}

package org.evallearn.inception;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** torchvision's InceptionA–E and InceptionAux (torchvision/models/inception.py), branches concatenated on channels in its order. */
final class Blocks {
    private Blocks() {}

    static Tensor cat(Tensor... parts) {
        return torch.cat(new TensorVector(parts), 1);
    }

    /** avg_pool2d(kernel 3, stride 1, padding 1), count_include_pad as torch's default. */
    static Tensor avgPool3(Tensor x) {
        return torch.avg_pool2d(x, new long[] {3, 3}, new long[] {1, 1}, new long[] {1, 1}, false, true, new org.bytedeco.pytorch.LongOptional());
    }

    /** max_pool2d(kernel 3, stride 2). */
    static Tensor maxPool3s2(Tensor x) {
        return torch.max_pool2d(x, new long[] {3, 3}, new long[] {2, 2}, new long[] {0, 0}, new long[] {1, 1}, false);
    }

    static final class InceptionA {
        private final BasicConv2d branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3, branchPool;

        InceptionA(Params p, long in, long poolFeatures) {
            branch1x1 = BasicConv2d.of(p.at("branch1x1"), in, 64, 1);
            branch5x5_1 = BasicConv2d.of(p.at("branch5x5_1"), in, 48, 1);
            branch5x5_2 = BasicConv2d.square(p.at("branch5x5_2"), 48, 64, 5, 1, 2);
            branch3x3dbl_1 = BasicConv2d.of(p.at("branch3x3dbl_1"), in, 64, 1);
            branch3x3dbl_2 = BasicConv2d.square(p.at("branch3x3dbl_2"), 64, 96, 3, 1, 1);
            branch3x3dbl_3 = BasicConv2d.square(p.at("branch3x3dbl_3"), 96, 96, 3, 1, 1);
            branchPool = BasicConv2d.of(p.at("branch_pool"), in, poolFeatures, 1);
        }

        Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                return s.handUp(cat(branch1x1.forward(x), branch5x5_2.forward(branch5x5_1.forward(x)),
                        branch3x3dbl_3.forward(branch3x3dbl_2.forward(branch3x3dbl_1.forward(x))), branchPool.forward(avgPool3(x))));
            }
        }
    }

    static final class InceptionB {
        private final BasicConv2d branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3;

        InceptionB(Params p, long in) {
            branch3x3 = BasicConv2d.square(p.at("branch3x3"), in, 384, 3, 2, 0);
            branch3x3dbl_1 = BasicConv2d.of(p.at("branch3x3dbl_1"), in, 64, 1);
            branch3x3dbl_2 = BasicConv2d.square(p.at("branch3x3dbl_2"), 64, 96, 3, 1, 1);
            branch3x3dbl_3 = BasicConv2d.square(p.at("branch3x3dbl_3"), 96, 96, 3, 2, 0);
        }

        Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                return s.handUp(cat(branch3x3.forward(x), branch3x3dbl_3.forward(branch3x3dbl_2.forward(branch3x3dbl_1.forward(x))),
                        maxPool3s2(x)));
            }
        }
    }

    static final class InceptionC {
        private final BasicConv2d branch1x1, branch7x7_1, branch7x7_2, branch7x7_3, branch7x7dbl_1, branch7x7dbl_2, branch7x7dbl_3,
                branch7x7dbl_4, branch7x7dbl_5, branchPool;

        InceptionC(Params p, long in, long c7) {
            branch1x1 = BasicConv2d.of(p.at("branch1x1"), in, 192, 1);
            branch7x7_1 = BasicConv2d.of(p.at("branch7x7_1"), in, c7, 1);
            branch7x7_2 = BasicConv2d.rect(p.at("branch7x7_2"), c7, c7, 1, 7);
            branch7x7_3 = BasicConv2d.rect(p.at("branch7x7_3"), c7, 192, 7, 1);
            branch7x7dbl_1 = BasicConv2d.of(p.at("branch7x7dbl_1"), in, c7, 1);
            branch7x7dbl_2 = BasicConv2d.rect(p.at("branch7x7dbl_2"), c7, c7, 7, 1);
            branch7x7dbl_3 = BasicConv2d.rect(p.at("branch7x7dbl_3"), c7, c7, 1, 7);
            branch7x7dbl_4 = BasicConv2d.rect(p.at("branch7x7dbl_4"), c7, c7, 7, 1);
            branch7x7dbl_5 = BasicConv2d.rect(p.at("branch7x7dbl_5"), c7, 192, 1, 7);
            branchPool = BasicConv2d.of(p.at("branch_pool"), in, 192, 1);
        }

        Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                Tensor b7 = branch7x7_3.forward(branch7x7_2.forward(branch7x7_1.forward(x)));
                Tensor b7dbl = branch7x7dbl_5.forward(branch7x7dbl_4.forward(branch7x7dbl_3.forward(branch7x7dbl_2.forward(branch7x7dbl_1.forward(x)))));
                return s.handUp(cat(branch1x1.forward(x), b7, b7dbl, branchPool.forward(avgPool3(x))));
            }
        }
    }

    static final class InceptionD {
        private final BasicConv2d branch3x3_1, branch3x3_2, branch7x7x3_1, branch7x7x3_2, branch7x7x3_3, branch7x7x3_4;

        InceptionD(Params p, long in) {
            branch3x3_1 = BasicConv2d.of(p.at("branch3x3_1"), in, 192, 1);
            branch3x3_2 = BasicConv2d.square(p.at("branch3x3_2"), 192, 320, 3, 2, 0);
            branch7x7x3_1 = BasicConv2d.of(p.at("branch7x7x3_1"), in, 192, 1);
            branch7x7x3_2 = BasicConv2d.rect(p.at("branch7x7x3_2"), 192, 192, 1, 7);
            branch7x7x3_3 = BasicConv2d.rect(p.at("branch7x7x3_3"), 192, 192, 7, 1);
            branch7x7x3_4 = BasicConv2d.square(p.at("branch7x7x3_4"), 192, 192, 3, 2, 0);
        }

        Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                return s.handUp(cat(branch3x3_2.forward(branch3x3_1.forward(x)),
                        branch7x7x3_4.forward(branch7x7x3_3.forward(branch7x7x3_2.forward(branch7x7x3_1.forward(x)))), maxPool3s2(x)));
            }
        }
    }

    static final class InceptionE {
        private final BasicConv2d branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3a,
                branch3x3dbl_3b, branchPool;

        InceptionE(Params p, long in) {
            branch1x1 = BasicConv2d.of(p.at("branch1x1"), in, 320, 1);
            branch3x3_1 = BasicConv2d.of(p.at("branch3x3_1"), in, 384, 1);
            branch3x3_2a = BasicConv2d.rect(p.at("branch3x3_2a"), 384, 384, 1, 3);
            branch3x3_2b = BasicConv2d.rect(p.at("branch3x3_2b"), 384, 384, 3, 1);
            branch3x3dbl_1 = BasicConv2d.of(p.at("branch3x3dbl_1"), in, 448, 1);
            branch3x3dbl_2 = BasicConv2d.square(p.at("branch3x3dbl_2"), 448, 384, 3, 1, 1);
            branch3x3dbl_3a = BasicConv2d.rect(p.at("branch3x3dbl_3a"), 384, 384, 1, 3);
            branch3x3dbl_3b = BasicConv2d.rect(p.at("branch3x3dbl_3b"), 384, 384, 3, 1);
            branchPool = BasicConv2d.of(p.at("branch_pool"), in, 192, 1);
        }

        Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                Tensor b3 = branch3x3_1.forward(x);
                Tensor b3dbl = branch3x3dbl_2.forward(branch3x3dbl_1.forward(x));
                return s.handUp(cat(branch1x1.forward(x), cat(branch3x3_2a.forward(b3), branch3x3_2b.forward(b3)),
                        cat(branch3x3dbl_3a.forward(b3dbl), branch3x3dbl_3b.forward(b3dbl)), branchPool.forward(avgPool3(x))));
            }
        }
    }

    /** The auxiliary classifier: its weights are in torchvision's files and loaded, but features never pass through it. */
    static final class InceptionAux {
        InceptionAux(Params p, long in, long classes) {
            BasicConv2d.of(p.at("conv0"), in, 128, 1);
            BasicConv2d.of(p.at("conv1"), 128, 768, 5);
            new org.evallearn.nn.Linear(p.at("fc"), 768, classes, true);
        }
    }
}

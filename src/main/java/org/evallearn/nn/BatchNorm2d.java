package org.evallearn.nn;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Init;
import org.evallearn.tensor.Params;

/**
 * {@code torch.nn.BatchNorm2d} in eval mode: (x − running_mean)/√(running_var + eps)·weight + bias.
 * Keys {@code weight}, {@code bias}, {@code running_mean}, {@code running_var}; the file's
 * {@code num_batches_tracked} counts training steps and is not read.
 */
public final class BatchNorm2d {
    public final Tensor weight, bias, runningMean, runningVar;
    private final double eps;

    public BatchNorm2d(Params p, long channels, double eps) {
        this.weight = p.get("weight", Init.ONES, channels);
        this.bias = p.get("bias", Init.BIAS, channels);
        this.runningMean = p.get("running_mean", Init.ZEROS, channels);
        this.runningVar = p.get("running_var", Init.ONES, channels);
        this.eps = eps;
    }

    public Tensor forward(Tensor x) {
        return torch.batch_norm(x, new TensorOptional(weight), new TensorOptional(bias), new TensorOptional(runningMean),
                new TensorOptional(runningVar), false, 0.0, eps, true);
    }

    /** Whether a state-dict key is a BatchNorm step counter, present in torchvision's files and unused in eval mode. */
    public static boolean isStepCounter(String key) {
        return key.endsWith(".num_batches_tracked");
    }
}

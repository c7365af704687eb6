package org.evallearn.metric;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.Scope;

/**
 * The mean and covariance of a stream of feature vectors (Inception's 2048-d pool features for
 * FID), accumulated batch by batch in float64 as Σx and Σxxᵀ, so the features themselves are never
 * kept: 2048² doubles (32 MiB) whatever the number of images. The covariance is numpy's
 * {@code np.cov(rowvar=False)}: divided by n − 1.
 */
public final class FeatureStatistics implements AutoCloseable {
    private final Tensor sum; // (D,) float64
    private final Tensor outer; // (D, D) float64
    private long count;

    public FeatureStatistics(long dim) {
        TensorOptions f64 = new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Double));
        try (Scope s = Scope.open()) {
            this.sum = s.escape(torch.zeros(new long[] {dim}, f64));
            this.outer = s.escape(torch.zeros(new long[] {dim, dim}, f64));
        }
    }

    /** Adds a batch of features (B, D), any float dtype, any device. */
    public void add(Tensor features) {
        if (features.dim() != 2 || features.size(1) != sum.size(0)) {
            throw new IllegalArgumentException("features must be (B, " + sum.size(0) + "), got " + java.util.Arrays.toString(features.shape()));
        }
        try (Scope s = Scope.open()) {
            Tensor x = features.detach().cpu().to(ScalarType.Double);
            sum.add_(x.sum(new long[] {0}, false, new ScalarTypeOptional()));
            outer.add_(x.t().matmul(x));
            count += x.size(0);
        }
    }

    public long count() {
        return count;
    }

    /** The mean (D,), float64, in the caller's scope. */
    public Tensor mean() {
        requireTwo();
        try (Scope s = Scope.open()) {
            return s.handUp(sum.div(new Scalar((double) count)));
        }
    }

    /** The unbiased covariance (D, D): (Σxxᵀ − n·μμᵀ)/(n − 1), float64, in the caller's scope. */
    public Tensor covariance() {
        requireTwo();
        try (Scope s = Scope.open()) {
            Tensor mu = sum.div(new Scalar((double) count));
            Tensor centred = outer.sub(torch.outer(mu, mu).mul(new Scalar((double) count)));
            return s.handUp(centred.div(new Scalar((double) (count - 1))));
        }
    }

    private void requireTwo() {
        if (count < 2) throw new IllegalStateException("a covariance needs at least 2 feature vectors, got " + count);
    }

    @Override
    public void close() {
        sum.close();
        outer.close();
    }
}

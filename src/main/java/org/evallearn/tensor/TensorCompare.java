package org.evallearn.tensor;

import java.util.Arrays;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** numpy-{@code allclose} style comparison of an actual tensor with a reference one. */
public final class TensorCompare {
    private TensorCompare() {}

    /** Max |a − e| and whether every element satisfies |a − e| ≤ atol + rtol·|e|. */
    public record Result(double maxAbsError, boolean pass, String problem) {}

    public static Result compare(Tensor actual, Tensor expected, double atol, double rtol) {
        long[] as = actual.shape(), es = expected.shape();
        if (!Arrays.equals(as, es)) {
            return new Result(Double.POSITIVE_INFINITY, false, "shape " + Arrays.toString(as) + " != expected " + Arrays.toString(es));
        }
        try (Scope scope = Scope.open()) {
            Tensor a = actual.detach().cpu().to(ScalarType.Double);
            Tensor e = expected.detach().cpu().to(ScalarType.Double);
            Tensor diff = a.sub(e).abs();
            if (diff.numel() == 0) return new Result(0, true, null);
            double max = diff.max().item_double();
            boolean finite = a.isfinite().all().item_bool();
            Tensor bound = e.abs().mul(new org.bytedeco.pytorch.Scalar(rtol)).add(new org.bytedeco.pytorch.Scalar(atol));
            boolean pass = finite && diff.le(bound).all().item_bool();
            return new Result(max, pass, finite ? null : "non-finite values");
        }
    }

    /** Exact equality, for ids and the rng fixture. */
    public static Result exact(Tensor actual, Tensor expected) {
        return compare(actual, expected, 0, 0);
    }
}

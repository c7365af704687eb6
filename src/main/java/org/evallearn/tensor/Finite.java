package org.evallearn.tensor;

import java.util.Locale;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Whether tensors hold NaN or ±Inf, cheaply: one sum per tensor (or per batch item), accumulated
 * in fp32 on the tensor's own device, into which any NaN or Inf propagates. Only a non-finite sum
 * is looked at element by element, so an fp32 sum that overflowed on huge but finite values is
 * never reported.
 */
public final class Finite {
    private Finite() {}

    /** Whether every value of {@code t} is finite; integer and boolean tensors always are. */
    public static boolean all(Tensor t) {
        if (!DType.of(t.scalar_type()).isFloating() || t.numel() == 0) return true;
        try (Scope s = Scope.open()) {
            if (Double.isFinite(torch.sum(t, new ScalarTypeOptional(torch.ScalarType.Float)).item_double())) return true;
            return torch.isfinite(t).all().item_bool();
        }
    }

    /** Per item of dimension 0 of a floating tensor: whether all its values are finite. */
    public static boolean[] perItem(Tensor batch) {
        int n = (int) batch.size(0);
        boolean[] finite = new boolean[n];
        try (Scope s = Scope.open()) {
            Tensor sums = torch.sum(batch.reshape(n, -1), new long[] {1}, false, new ScalarTypeOptional(torch.ScalarType.Float)).cpu();
            for (int i = 0; i < n; i++) {
                finite[i] = Double.isFinite(sums.select(0, i).item_double()) || torch.isfinite(batch.select(0, i)).all().item_bool();
            }
        }
        return finite;
    }

    /** What is wrong with a tensor that is not {@link #all} finite, e.g. "3 NaN and 1 Inf of 432 values". */
    public static String describe(Tensor t) {
        try (Scope s = Scope.open()) {
            long nan = torch.isnan(t).sum().item_long(), inf = torch.isinf(t).sum().item_long();
            return String.format(Locale.ROOT, "%d NaN and %d Inf of %d values", nan, inf, t.numel());
        }
    }
}

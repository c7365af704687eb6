package org.evallearn.detect;

import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.Scope;

/** Shape checks and the small tensor steps the detectors share. */
final class Embeddings {
    private Embeddings() {}

    /** {@code x} as float32 (B, dim) on {@code device}; anything else is the caller's mistake, said plainly. */
    static Tensor batch(Tensor x, long dim, Device device, String detector) {
        long[] shape = x.shape();
        if (shape.length != 2 || shape[1] != dim) {
            throw new IllegalArgumentException(detector + " expects image embeddings of shape (batch, " + dim + "), got "
                    + Arrays.toString(shape));
        }
        return x.to(device, ScalarType.Float);
    }

    /** x / ‖x‖₂ along the last dimension, as CLIP's {@code x / x.norm(dim=-1, keepdim=True)}. */
    static Tensor l2Normalise(Tensor x) {
        return x.div(x.norm(new ScalarOptional(new Scalar(2.0)), new long[] {-1}, true));
    }

    /** A 1-D or (B, 1) float tensor's values on the host. */
    static float[] toHost(Tensor scores) {
        try (Scope s = Scope.open()) {
            Tensor c = scores.to(ScalarType.Float).reshape(-1).contiguous().cpu();
            float[] out = new float[(int) c.numel()];
            new FloatPointer(c.data_ptr()).capacity(out.length).get(out);
            return out;
        }
    }
}

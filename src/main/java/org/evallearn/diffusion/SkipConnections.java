package org.evallearn.diffusion;

import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/** How the UNet's up path consumes the skip states of its down path (unet_2d_condition.py forward). */
final class SkipConnections {
    private SkipConnections() {}

    /** Removes the last skip state and returns cat([h, skip], dim=1), diffusers' order. */
    static Tensor concatLast(Tensor h, List<Tensor> skips) {
        Tensor skip = skips.remove(skips.size() - 1);
        return torch.cat(new TensorVector(h, skip), 1);
    }

    /**
     * Upsamples to the size of the next skip state, which is 2× except where a downsampler
     * rounded an odd side up; diffusers forwards {@code upsample_size} for exactly that case.
     */
    static Tensor upsampleToNext(Upsample2D up, Tensor h, List<Tensor> skips) {
        if (skips.isEmpty()) return up.forward(h);
        Tensor next = skips.get(skips.size() - 1);
        return up.forward(h, next.size(2), next.size(3));
    }
}

package org.evallearn.diffusion;

import java.util.List;
import org.bytedeco.pytorch.Tensor;

/** An up block of the UNet: each resnet consumes the last remaining skip state. */
public interface UNetUpBlock {
    /**
     * @param skips the down path's skip states; the block removes the ones it consumes from the end
     * @param context text states, ignored by blocks without cross-attention
     */
    Tensor forward(Tensor x, List<Tensor> skips, Tensor temb, Tensor context);
}

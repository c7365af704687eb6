package org.evallearn.diffusion;

import java.util.List;
import org.bytedeco.pytorch.Tensor;

/** A down block of the UNet: returns its output and appends every skip state it produces. */
public interface UNetDownBlock {
    /**
     * @param context text states, ignored by blocks without cross-attention
     * @param skips receives the output of each resnet (and attention) and of the downsampler
     */
    Tensor forward(Tensor x, Tensor temb, Tensor context, List<Tensor> skips);
}

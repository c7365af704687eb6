package org.evallearn.diffusion;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.nn.Conv2d;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * diffusers {@code Downsample2D} with {@code use_conv} (resnet.py): a stride-2 3×3 conv. With
 * padding 0 (the VAE encoder) diffusers first pads right and bottom by one, so the conv sees the
 * same windows as the original LDM code.
 */
public final class Downsample2D {
    public final Conv2d conv;
    private final boolean asymmetricPad;

    public Downsample2D(Params p, long channels, long padding) {
        this.conv = new Conv2d(p.at("conv"), channels, channels, 3, 2, padding);
        this.asymmetricPad = padding == 0;
    }

    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor in = asymmetricPad ? torch.constant_pad_nd(x, 0, 1, 0, 1) : x;
            return s.handUp(conv.forward(in));
        }
    }
}

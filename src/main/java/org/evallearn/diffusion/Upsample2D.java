package org.evallearn.diffusion;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.nn.Conv2d;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** diffusers {@code Upsample2D} with {@code use_conv} (resnet.py): nearest-neighbour 2× then a 3×3 conv. */
public final class Upsample2D {
    public final Conv2d conv;

    public Upsample2D(Params p, long channels) {
        this.conv = new Conv2d(p.at("conv"), channels, channels, 3, 1, 1);
    }

    /** Doubles height and width. */
    public Tensor forward(Tensor x) {
        return forward(x, x.size(2) * 2, x.size(3) * 2);
    }

    /**
     * Upsamples to an explicit size, which the UNet passes when the input's sides are not
     * multiples of its overall downscale (diffusers' {@code upsample_size}); for an exact 2×
     * nearest picks the same source pixels as {@code scale_factor=2}.
     */
    public Tensor forward(Tensor x, long height, long width) {
        try (Scope s = Scope.open()) {
            // nearest upsampling has no bfloat16 kernel in older torch; diffusers goes through fp32 too
            boolean bf16 = x.scalar_type().intern() == ScalarType.BFloat16;
            Tensor in = bf16 ? x.to(ScalarType.Float) : x;
            Tensor up = torch.upsample_nearest2d(in, height, width);
            if (bf16) up = up.to(ScalarType.BFloat16);
            return s.handUp(conv.forward(up));
        }
    }
}

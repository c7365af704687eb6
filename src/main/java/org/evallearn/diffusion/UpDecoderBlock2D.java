package org.evallearn.diffusion;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** diffusers {@code UpDecoderBlock2D} (unet_2d_blocks.py): resnets without time embedding, then an optional 2× upsampler. */
public final class UpDecoderBlock2D {
    public final List<ResnetBlock2D> resnets = new ArrayList<>();
    public final Upsample2D upsamplers_0;

    public UpDecoderBlock2D(Params p, int layers, long in, long out, long groups, double eps, Activation act,
            boolean addUpsample) {
        for (int i = 0; i < layers; i++) {
            resnets.add(new ResnetBlock2D(p.at("resnets").at(i), i == 0 ? in : out, out, 0, groups, eps, 1.0, act));
        }
        this.upsamplers_0 = addUpsample ? new Upsample2D(p.at("upsamplers").at(0), out) : null;
    }

    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor h = x;
            for (ResnetBlock2D r : resnets) h = r.forward(h, null);
            if (upsamplers_0 != null) h = upsamplers_0.forward(h);
            return s.handUp(h);
        }
    }
}

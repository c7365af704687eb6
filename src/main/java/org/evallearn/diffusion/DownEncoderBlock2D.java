package org.evallearn.diffusion;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * diffusers {@code DownEncoderBlock2D} (unet_2d_blocks.py) as the VAE encoder builds it:
 * resnets without time embedding, then a downsampler with padding 0 (the asymmetric pad).
 */
public final class DownEncoderBlock2D {
    public final List<ResnetBlock2D> resnets = new ArrayList<>();
    public final Downsample2D downsamplers_0;

    public DownEncoderBlock2D(Params p, int layers, long in, long out, long groups, double eps, Activation act,
            boolean addDownsample) {
        for (int i = 0; i < layers; i++) {
            resnets.add(new ResnetBlock2D(p.at("resnets").at(i), i == 0 ? in : out, out, 0, groups, eps, 1.0, act));
        }
        this.downsamplers_0 = addDownsample ? new Downsample2D(p.at("downsamplers").at(0), out, 0) : null;
    }

    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor h = x;
            for (ResnetBlock2D r : resnets) h = r.forward(h, null);
            if (downsamplers_0 != null) h = downsamplers_0.forward(h);
            return s.handUp(h);
        }
    }
}

package org.evallearn.diffusion;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** The VAE's mid block, diffusers {@code UNetMidBlock2D} without time embedding: resnet, attention, resnet. */
public final class UNetMidBlock2D {
    public final ResnetBlock2D resnets_0;
    public final SpatialSelfAttention attentions_0;
    public final ResnetBlock2D resnets_1;

    public UNetMidBlock2D(Params p, long channels, long groups, double eps, Activation act) {
        this.resnets_0 = new ResnetBlock2D(p.at("resnets").at(0), channels, channels, 0, groups, eps, 1.0, act);
        this.attentions_0 = new SpatialSelfAttention(p.at("attentions").at(0), channels, groups, eps);
        this.resnets_1 = new ResnetBlock2D(p.at("resnets").at(1), channels, channels, 0, groups, eps, 1.0, act);
    }

    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            return s.handUp(resnets_1.forward(attentions_0.forward(resnets_0.forward(x, null)), null));
        }
    }
}

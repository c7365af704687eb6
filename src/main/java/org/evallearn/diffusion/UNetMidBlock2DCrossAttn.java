package org.evallearn.diffusion;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * diffusers {@code UNetMidBlock2DCrossAttn} (unet_2d_blocks.py) with one layer: resnet,
 * transformer, resnet, the resnets scaled by {@code mid_block_scale_factor}.
 */
public final class UNetMidBlock2DCrossAttn {
    public final List<ResnetBlock2D> resnets = new ArrayList<>();
    public final List<Transformer2DModel> attentions = new ArrayList<>();

    public UNetMidBlock2DCrossAttn(Params p, UNetConfig cfg, int channels, int heads) {
        for (int i = 0; i < 2; i++) {
            resnets.add(new ResnetBlock2D(p.at("resnets").at(i), channels, channels, cfg.timeEmbedDim(),
                    cfg.normNumGroups(), cfg.normEps(), cfg.midBlockScaleFactor(), Activation.SILU));
        }
        attentions.add(new Transformer2DModel(p.at("attentions").at(0), channels, heads, cfg));
    }

    public Tensor forward(Tensor x, Tensor temb, Tensor context) {
        try (Scope s = Scope.open()) {
            Tensor h = resnets.get(0).forward(x, temb);
            for (int i = 0; i < attentions.size(); i++) {
                h = resnets.get(i + 1).forward(attentions.get(i).forward(h, context), temb);
            }
            return s.handUp(h);
        }
    }
}

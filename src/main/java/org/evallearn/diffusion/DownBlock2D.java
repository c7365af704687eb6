package org.evallearn.diffusion;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** diffusers {@code DownBlock2D} (unet_2d_blocks.py): resnets only, then an optional downsampler. */
public final class DownBlock2D implements UNetDownBlock {
    public final List<ResnetBlock2D> resnets = new ArrayList<>();
    public final Downsample2D downsamplers_0;

    public DownBlock2D(Params p, UNetConfig cfg, int in, int out, boolean addDownsample) {
        for (int i = 0; i < cfg.layersPerBlock(); i++) {
            resnets.add(new ResnetBlock2D(p.at("resnets").at(i), i == 0 ? in : out, out, cfg.timeEmbedDim(),
                    cfg.normNumGroups(), cfg.normEps(), 1.0, Activation.SILU));
        }
        this.downsamplers_0 = addDownsample ? new Downsample2D(p.at("downsamplers").at(0), out, cfg.downsamplePadding()) : null;
    }

    @Override
    public Tensor forward(Tensor x, Tensor temb, Tensor context, List<Tensor> skips) {
        try (Scope s = Scope.open()) {
            Tensor h = x;
            for (ResnetBlock2D resnet : resnets) {
                h = resnet.forward(h, temb);
                skips.add(s.handUp(h));
            }
            if (downsamplers_0 != null) {
                h = downsamplers_0.forward(h);
                skips.add(s.handUp(h));
            }
            return h; // already handed up as the last skip state
        }
    }
}

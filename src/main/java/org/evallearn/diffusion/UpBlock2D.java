package org.evallearn.diffusion;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** diffusers {@code UpBlock2D} (unet_2d_blocks.py): resnets on [h, skip] concatenations, then an optional upsampler. */
public final class UpBlock2D implements UNetUpBlock {
    public final List<ResnetBlock2D> resnets = new ArrayList<>();
    public final Upsample2D upsamplers_0;

    /**
     * @param in channels of the matching down block's input (the last skip this block consumes)
     * @param prevOut channels coming from the block below
     */
    public UpBlock2D(Params p, UNetConfig cfg, int in, int out, int prevOut, boolean addUpsample) {
        int layers = cfg.layersPerBlock() + 1;
        for (int i = 0; i < layers; i++) {
            int skip = i == layers - 1 ? in : out;
            int resIn = i == 0 ? prevOut : out;
            resnets.add(new ResnetBlock2D(p.at("resnets").at(i), resIn + skip, out, cfg.timeEmbedDim(),
                    cfg.normNumGroups(), cfg.normEps(), 1.0, Activation.SILU));
        }
        this.upsamplers_0 = addUpsample ? new Upsample2D(p.at("upsamplers").at(0), out) : null;
    }

    @Override
    public Tensor forward(Tensor x, List<Tensor> skips, Tensor temb, Tensor context) {
        try (Scope s = Scope.open()) {
            Tensor h = x;
            for (ResnetBlock2D resnet : resnets) {
                h = resnet.forward(SkipConnections.concatLast(h, skips), temb);
            }
            if (upsamplers_0 != null) h = SkipConnections.upsampleToNext(upsamplers_0, h, skips);
            return s.handUp(h);
        }
    }
}

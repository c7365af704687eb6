package org.evallearn.diffusion;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * diffusers {@code CrossAttnUpBlock2D} (unet_2d_blocks.py): resnet (on [h, skip]) + transformer
 * pairs, then an optional upsampler.
 */
public final class CrossAttnUpBlock2D implements UNetUpBlock {
    public final List<ResnetBlock2D> resnets = new ArrayList<>();
    public final List<Transformer2DModel> attentions = new ArrayList<>();
    public final Upsample2D upsamplers_0;

    /**
     * @param in channels of the matching down block's input (the last skip this block consumes)
     * @param prevOut channels coming from the block below
     */
    public CrossAttnUpBlock2D(Params p, UNetConfig cfg, int in, int out, int prevOut, int heads, boolean addUpsample) {
        int layers = cfg.layersPerBlock() + 1;
        for (int i = 0; i < layers; i++) {
            int skip = i == layers - 1 ? in : out;
            int resIn = i == 0 ? prevOut : out;
            resnets.add(new ResnetBlock2D(p.at("resnets").at(i), resIn + skip, out, cfg.timeEmbedDim(),
                    cfg.normNumGroups(), cfg.normEps(), 1.0, Activation.SILU));
            attentions.add(new Transformer2DModel(p.at("attentions").at(i), out, heads, cfg));
        }
        this.upsamplers_0 = addUpsample ? new Upsample2D(p.at("upsamplers").at(0), out) : null;
    }

    @Override
    public Tensor forward(Tensor x, List<Tensor> skips, Tensor temb, Tensor context) {
        try (Scope s = Scope.open()) {
            Tensor h = x;
            for (int i = 0; i < resnets.size(); i++) {
                h = resnets.get(i).forward(SkipConnections.concatLast(h, skips), temb);
                h = attentions.get(i).forward(h, context);
            }
            if (upsamplers_0 != null) h = SkipConnections.upsampleToNext(upsamplers_0, h, skips);
            return s.handUp(h);
        }
    }
}

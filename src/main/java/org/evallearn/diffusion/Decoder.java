package org.evallearn.diffusion;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.nn.Conv2d;
import org.evallearn.nn.GroupNorm;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * The VAE decoder, diffusers {@code Decoder} (vae.py) with group norm: the encoder's channels in
 * reverse, one more resnet per block than the encoder.
 */
public final class Decoder {
    private static final double EPS = 1e-6;
    public final Conv2d conv_in;
    public final UNetMidBlock2D mid_block;
    public final List<UpDecoderBlock2D> up_blocks = new ArrayList<>();
    public final GroupNorm conv_norm_out;
    public final Conv2d conv_out;

    public Decoder(Params p, AutoencoderKLConfig cfg) {
        List<Integer> ch = cfg.blockOutChannels();
        int n = ch.size(), groups = cfg.normNumGroups();
        this.conv_in = new Conv2d(p.at("conv_in"), cfg.latentChannels(), ch.get(n - 1), 3, 1, 1);
        this.mid_block = new UNetMidBlock2D(p.at("mid_block"), ch.get(n - 1), groups, EPS, Activation.SILU);
        for (int i = 0; i < n; i++) {
            up_blocks.add(new UpDecoderBlock2D(p.at("up_blocks").at(i), cfg.layersPerBlock() + 1,
                    ch.get(Math.min(n - i, n - 1)), ch.get(n - 1 - i), groups, EPS, Activation.SILU, i < n - 1));
        }
        this.conv_norm_out = new GroupNorm(p.at("conv_norm_out"), groups, ch.get(0), EPS);
        this.conv_out = new Conv2d(p.at("conv_out"), ch.get(0), cfg.outChannels(), 3, 1, 1);
    }

    public Tensor forward(Tensor z) {
        try (Scope s = Scope.open()) {
            Tensor h = mid_block.forward(conv_in.forward(z));
            for (UpDecoderBlock2D block : up_blocks) h = block.forward(h);
            return s.handUp(conv_out.forward(Activation.SILU.apply(conv_norm_out.forward(h))));
        }
    }
}

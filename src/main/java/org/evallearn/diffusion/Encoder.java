package org.evallearn.diffusion;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.nn.Conv2d;
import org.evallearn.nn.GroupNorm;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** The VAE encoder, diffusers {@code Encoder} (vae.py) with {@code double_z}: image → [mean, logvar] moments. */
public final class Encoder {
    private static final double EPS = 1e-6;
    public final Conv2d conv_in;
    public final List<DownEncoderBlock2D> down_blocks = new ArrayList<>();
    public final UNetMidBlock2D mid_block;
    public final GroupNorm conv_norm_out;
    public final Conv2d conv_out;

    public Encoder(Params p, AutoencoderKLConfig cfg) {
        List<Integer> ch = cfg.blockOutChannels();
        int n = ch.size(), groups = cfg.normNumGroups();
        this.conv_in = new Conv2d(p.at("conv_in"), cfg.inChannels(), ch.get(0), 3, 1, 1);
        for (int i = 0; i < n; i++) {
            down_blocks.add(new DownEncoderBlock2D(p.at("down_blocks").at(i), cfg.layersPerBlock(),
                    ch.get(Math.max(i - 1, 0)), ch.get(i), groups, EPS, Activation.SILU, i < n - 1));
        }
        this.mid_block = new UNetMidBlock2D(p.at("mid_block"), ch.get(n - 1), groups, EPS, Activation.SILU);
        this.conv_norm_out = new GroupNorm(p.at("conv_norm_out"), groups, ch.get(n - 1), EPS);
        this.conv_out = new Conv2d(p.at("conv_out"), ch.get(n - 1), 2L * cfg.latentChannels(), 3, 1, 1);
    }

    public Tensor forward(Tensor image) {
        try (Scope s = Scope.open()) {
            Tensor h = conv_in.forward(image);
            for (DownEncoderBlock2D block : down_blocks) h = block.forward(h);
            h = mid_block.forward(h);
            return s.handUp(conv_out.forward(Activation.SILU.apply(conv_norm_out.forward(h))));
        }
    }
}

package org.evallearn.diffusion;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.nn.Conv2d;
import org.evallearn.nn.GroupNorm;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * diffusers {@code ResnetBlock2D} (resnet.py) with {@code time_embedding_norm="default"}: the
 * time embedding is added after conv1; {@code conv_shortcut} (1×1) exists only when the channel
 * count changes; the sum is divided by {@code output_scale_factor}. The VAE's blocks have no
 * time embedding ({@code time_emb_proj} null).
 */
public final class ResnetBlock2D {
    public final GroupNorm norm1;
    public final Conv2d conv1;
    public final Linear time_emb_proj;
    public final GroupNorm norm2;
    public final Conv2d conv2;
    public final Conv2d conv_shortcut;
    private final double outputScaleFactor;
    private final Activation act;

    /** @param tembChannels width of the time embedding, 0 for none */
    public ResnetBlock2D(Params p, long in, long out, long tembChannels, long groups, double eps,
            double outputScaleFactor, Activation act) {
        this.norm1 = new GroupNorm(p.at("norm1"), groups, in, eps);
        this.conv1 = new Conv2d(p.at("conv1"), in, out, 3, 1, 1);
        this.time_emb_proj = tembChannels > 0 ? new Linear(p.at("time_emb_proj"), tembChannels, out, true) : null;
        this.norm2 = new GroupNorm(p.at("norm2"), groups, out, eps);
        this.conv2 = new Conv2d(p.at("conv2"), out, out, 3, 1, 1);
        this.conv_shortcut = in != out ? new Conv2d(p.at("conv_shortcut"), in, out, 1, 1, 0) : null;
        this.outputScaleFactor = outputScaleFactor;
        this.act = act;
    }

    /** @param temb [B, tembChannels], or null when the block has no time embedding */
    public Tensor forward(Tensor x, Tensor temb) {
        try (Scope s = Scope.open()) {
            Tensor h = conv1.forward(act.apply(norm1.forward(x)));
            if (time_emb_proj != null) {
                h = h.add(time_emb_proj.forward(act.apply(temb)).unsqueeze(-1).unsqueeze(-1));
            }
            h = conv2.forward(act.apply(norm2.forward(h)));
            Tensor shortcut = conv_shortcut == null ? x : conv_shortcut.forward(x);
            Tensor out = shortcut.add(h);
            if (outputScaleFactor != 1.0) out = out.div(new Scalar(outputScaleFactor));
            return s.handUp(out);
        }
    }
}

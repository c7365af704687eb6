package org.evallearn.diffusion;

import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.Scope;

/**
 * diffusers {@code Timesteps} / {@code get_timestep_embedding} (embeddings.py): the sinusoidal
 * embedding of the timesteps, always in fp32 (in fp16 the high frequencies of t≈1000 lose all
 * precision). No weights.
 */
public final class Timesteps {
    private static final double MAX_PERIOD = 10000;
    private final int dim;
    private final boolean flipSinToCos;
    private final double freqShift;

    public Timesteps(int dim, boolean flipSinToCos, double freqShift) {
        this.dim = dim;
        this.flipSinToCos = flipSinToCos;
        this.freqShift = freqShift;
    }

    /** @param timesteps [N], any numeric dtype; returns [N, dim] fp32 on the same device */
    public Tensor forward(Tensor timesteps) {
        try (Scope s = Scope.open()) {
            int half = dim / 2;
            // Same operation order as diffusers so the fp32 rounding matches.
            Tensor exponent = torch.arange(new Scalar(0), new Scalar(half), new TensorOptions()
                    .dtype(new ScalarTypeOptional(ScalarType.Float)).device(new DeviceOptional(timesteps.device())))
                    .mul(new Scalar(-Math.log(MAX_PERIOD)))
                    .div(new Scalar(half - freqShift));
            Tensor freqs = exponent.exp();
            Tensor args = timesteps.to(ScalarType.Float).unsqueeze(1).mul(freqs.unsqueeze(0));
            Tensor sin = args.sin(), cos = args.cos();
            Tensor emb = flipSinToCos ? torch.cat(new TensorVector(cos, sin), -1) : torch.cat(new TensorVector(sin, cos), -1);
            if (dim % 2 == 1) emb = torch.constant_pad_nd(emb, 0, 1, 0, 0);
            return s.handUp(emb);
        }
    }
}

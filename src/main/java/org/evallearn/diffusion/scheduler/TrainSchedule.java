package org.evallearn.diffusion.scheduler;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;

/**
 * The training noise schedule {@code alphas_cumprod} (ᾱ_t, DDPM eq. 4), as float32 values.
 *
 * <p>diffusers builds it with float32 torch ops in every scheduler's {@code __init__}:
 * {@code betas = torch.linspace(..., dtype=float32)} (squared for scaled_linear, or
 * {@code betas_for_alpha_bar} for squaredcos_cap_v2), {@code alphas_cumprod = cumprod(1 - betas)}.
 * libtorch's linspace interpolates from both ends and its CPU cumprod accumulates in double, so
 * the same libtorch ops run here rather than a Java re-derivation: every later coefficient starts
 * from these bits.
 */
final class TrainSchedule {
    private TrainSchedule() {}

    static float[] alphasCumprod(SchedulerConfig c) {
        Natives.load();
        int n = c.numTrainTimesteps();
        try (Scope s = Scope.open(); TensorOptions f32 = new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Float))) {
            Tensor betas = switch (c.betaSchedule()) {
                case LINEAR -> torch.linspace(new Scalar(c.betaStart()), new Scalar(c.betaEnd()), n, f32);
                case SCALED_LINEAR -> torch.linspace(new Scalar(Math.sqrt(c.betaStart())), new Scalar(Math.sqrt(c.betaEnd())), n, f32)
                        .pow(new Scalar(2.0));
                case SQUAREDCOS_CAP_V2 -> floats(cosineBetas(n));
            };
            Tensor cumprod = torch.cumprod(betas.neg().add(new Scalar(1.0)), 0).contiguous();
            float[] out = new float[n];
            new FloatPointer(cumprod.data_ptr()).capacity(n).get(out);
            return out;
        }
    }

    /**
     * diffusers {@code betas_for_alpha_bar} (cosine): Nichol & Dhariwal 2021, eq. 17, betas capped
     * at 0.999, computed in Python floats and then stored as float32.
     */
    private static float[] cosineBetas(int n) {
        float[] betas = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n, t2 = (double) (i + 1) / n;
            betas[i] = (float) Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
        }
        return betas;
    }

    private static double alphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    private static Tensor floats(float[] values) {
        Tensor t = torch.empty(values.length);
        new FloatPointer(t.data_ptr()).capacity(values.length).put(values);
        return t;
    }
}

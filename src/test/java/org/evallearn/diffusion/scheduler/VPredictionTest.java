package org.evallearn.diffusion.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * v_prediction (SD 2.x 768-v models) in the first step of each scheduler that supports it, against
 * values computed here in double from the diffusers v0.21.4 formulas, with ᾱ from SD's scaled_linear
 * betas (0.00085..0.012, 1000 steps) and 10 inference steps. The model output v and the sample x
 * are fixed two-element tensors; a scheduler that read v as ε would miss by orders of magnitude.
 */
class VPredictionTest {
    static final double[] X = {1.0, -2.0};
    static final double[] V = {0.5, 0.25};
    static double[] alphasCumprod;

    @BeforeAll
    static void setUp() {
        Natives.load();
        // betas = linspace(√0.00085, √0.012, 1000)², ᾱ_t = Π (1 − β)
        alphasCumprod = new double[1000];
        double a = 1, lo = Math.sqrt(0.00085), hi = Math.sqrt(0.012);
        for (int i = 0; i < 1000; i++) {
            double b = lo + (hi - lo) * i / 999;
            a *= 1 - b * b;
            alphasCumprod[i] = a;
        }
    }

    private static Scheduler scheduler(String cls, String spacing) {
        ObjectNode c = new ObjectMapper().createObjectNode().put("_class_name", cls).put("beta_schedule", "scaled_linear")
                .put("beta_start", 0.00085).put("beta_end", 0.012).put("num_train_timesteps", 1000)
                .put("prediction_type", "v_prediction").put("steps_offset", 1).put("timestep_spacing", spacing)
                .put("set_alpha_to_one", false).put("clip_sample", false).put("skip_prk_steps", true);
        Scheduler s = Scheduler.fromConfig(new ConfigFile(cls + " test config", c));
        s.setTimesteps(10);
        return s;
    }

    private static double[] firstStep(Scheduler s, double[] noise) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.create(new float[] {(float) X[0], (float) X[1]}, 2);
            Tensor v = Tensor.create(new float[] {(float) V[0], (float) V[1]}, 2);
            StepNoise n = noise == null ? null : like -> Tensor.create(new float[] {(float) noise[0], (float) noise[1]}, 2);
            Tensor out = s.step(v, 0, x, n).contiguous();
            float[] f = new float[2];
            new FloatPointer(out.data_ptr()).capacity(2).get(f);
            return new double[] {f[0], f[1]};
        }
    }

    private static void assertClose(double[] expected, double[] actual) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 2e-5 * Math.max(1, Math.abs(expected[i])), "element " + i);
        }
    }

    private static double sigma(int t) {
        return Math.sqrt((1 - alphasCumprod[t]) / alphasCumprod[t]);
    }

    /** scheduling_ddim.py step: x̂₀ = √ᾱ_t·x − √(1−ᾱ_t)·v, ε̂ = √ᾱ_t·v + √(1−ᾱ_t)·x, then eq. 12 with η = 0. */
    @Test
    void ddim() {
        Scheduler s = scheduler("DDIMScheduler", "leading");
        assertEquals(901.0, s.timesteps()[0]);
        double a = alphasCumprod[901], ap = alphasCumprod[801];
        double[] expected = new double[2];
        for (int i = 0; i < 2; i++) {
            double x0 = Math.sqrt(a) * X[i] - Math.sqrt(1 - a) * V[i];
            double eps = Math.sqrt(a) * V[i] + Math.sqrt(1 - a) * X[i];
            expected[i] = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * eps;
        }
        assertClose(expected, firstStep(s, null));
    }

    /** scheduling_pndm.py _get_prev_sample: v → ε as in DDIM, then PNDM eq. 11 from t = 901 to 801. */
    @Test
    void pndm() {
        Scheduler s = scheduler("PNDMScheduler", "leading");
        assertArrayEquals(new double[] {901, 801, 801}, java.util.Arrays.copyOf(s.timesteps(), 3));
        double a = alphasCumprod[901], ap = alphasCumprod[801], b = 1 - a, bp = 1 - ap;
        double[] expected = new double[2];
        for (int i = 0; i < 2; i++) {
            double eps = Math.sqrt(a) * V[i] + Math.sqrt(b) * X[i];
            expected[i] = Math.sqrt(ap / a) * X[i] - (ap - a) * eps / (a * Math.sqrt(bp) + Math.sqrt(a * b * ap));
        }
        assertClose(expected, firstStep(s, null));
    }

    /** x̂₀ = v·(−σ/√(σ²+1)) + x/(σ²+1) (pred_original_sample of the σ schedulers). */
    private static double x0(int i, double sigma) {
        return V[i] * (-sigma / Math.sqrt(sigma * sigma + 1)) + X[i] / (sigma * sigma + 1);
    }

    /** scheduling_euler_discrete.py: linspace timesteps 999, 888, …; x + (x − x̂₀)/σ₀ · (σ₁ − σ₀). */
    @Test
    void euler() {
        Scheduler s = scheduler("EulerDiscreteScheduler", "linspace");
        assertArrayEquals(new double[] {999, 888}, java.util.Arrays.copyOf(s.timesteps(), 2));
        double s0 = sigma(999), s1 = sigma(888);
        double[] expected = new double[2];
        for (int i = 0; i < 2; i++) expected[i] = X[i] + (X[i] - x0(i, s0)) / s0 * (s1 - s0);
        assertClose(expected, firstStep(s, null));
    }

    /** scheduling_lms_discrete.py: the first step is first order, ∫ of the one Lagrange basis = σ₁ − σ₀. */
    @Test
    void lms() {
        Scheduler s = scheduler("LMSDiscreteScheduler", "linspace");
        double s0 = sigma(999), s1 = sigma(888);
        double[] expected = new double[2];
        for (int i = 0; i < 2; i++) expected[i] = X[i] + (s1 - s0) * (X[i] - x0(i, s0)) / s0;
        assertClose(expected, firstStep(s, null));
    }

    /** scheduling_euler_ancestral_discrete.py: Euler to σ_down, plus σ_up·noise. */
    @Test
    void eulerAncestral() {
        Scheduler s = scheduler("EulerAncestralDiscreteScheduler", "linspace");
        double from = sigma(999), to = sigma(888);
        double up = Math.sqrt(to * to * (from * from - to * to) / (from * from)), down = Math.sqrt(to * to - up * up);
        double[] noise = {0.3, -1.1};
        double[] expected = new double[2];
        for (int i = 0; i < 2; i++) expected[i] = X[i] + (X[i] - x0(i, from)) / from * (down - from) + noise[i] * up;
        assertClose(expected, firstStep(s, noise));
    }

    /**
     * scheduling_dpmsolver_multistep.py: convert_model_output x̂₀ = α_s·x − σ_s·v (α = √ᾱ, σ = √(1−ᾱ)),
     * then the first-order update x_t = (σ_t/σ_s)·x − α_t(e^{−h} − 1)·x̂₀, h = λ_t − λ_s, λ = log α − log σ;
     * linspace(0, 999, 11).round() reversed gives s = 999, t = 899.
     */
    @Test
    void dpmSolverPlusPlus2m() {
        Scheduler s = scheduler("DPMSolverMultistepScheduler", "linspace");
        assertArrayEquals(new double[] {999, 899}, java.util.Arrays.copyOf(s.timesteps(), 2));
        double as = Math.sqrt(alphasCumprod[999]), ss = Math.sqrt(1 - alphasCumprod[999]);
        double at = Math.sqrt(alphasCumprod[899]), st = Math.sqrt(1 - alphasCumprod[899]);
        double h = (Math.log(at) - Math.log(st)) - (Math.log(as) - Math.log(ss));
        double[] expected = new double[2];
        for (int i = 0; i < 2; i++) {
            double x0 = as * X[i] - ss * V[i];
            expected[i] = st / ss * X[i] - at * (Math.exp(-h) - 1) * x0;
        }
        assertClose(expected, firstStep(s, null));
    }
}

package org.evallearn.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.evallearn.testing.Fp32;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The SD 2.x switches below the UNet config: upcast attention and the sinusoid options of time_proj. */
class AttentionAndTimestepsTest {
    @BeforeAll
    static void natives() {
        Natives.load();
    }

    /**
     * diffusers 0.21.4 upcast_attention acts in Attention.get_attention_scores (AttnProcessor):
     * q and k to fp32, baddbmm with alpha = 1/√d, softmax, probabilities back to the input dtype.
     * In fp32 that is the fused kernel's result, for self- and cross-attention shapes.
     */
    @Test
    void upcastAttentionEqualsTheFusedKernelInFp32() {
        try (Scope s = Scope.open()) {
            Tensor q = Noise.initialLatents(1, 2, 3, 5, 8);
            for (long keys : new long[] {5, 7}) {
                Tensor k = Noise.initialLatents(2, 2, 3, keys, 8).mul(new Scalar(3));
                Tensor v = Noise.initialLatents(3, 2, 3, keys, 8);
                Tensor fused = AttentionKernel.FUSED.apply(q, k, v);
                Tensor upcast = AttentionKernel.UPCAST.apply(q, k, v);
                assertArrayEquals(new long[] {2, 3, 5, 8}, upcast.shape());
                // Error budget: each output is Σ_j p_j·v_j over the keys, p from 8-term dot products and a
                // softmax (exp, a sum over the keys, a division); summed in another order each of these
                // (8 + keys + 4) roundings moves the result by ≤ EPS·max|v|. Measured (KernelSpreadProbe,
                // default/avx2/avx512 × 1/2 threads): 4.8e-7 fused, 3.6e-7 written out, at max|v| = 2.9.
                double budget = (8 + keys + 4) * Fp32.EPS * v.abs().max().item_double();
                TensorCompare.Result r = TensorCompare.compare(upcast, fused, budget, 0);
                assertTrue(r.pass(), keys + " keys: max error " + r.maxAbsError() + ", budget " + budget);
                // and both are softmax(q·kᵀ/√d)·v written out
                Tensor reference = q.matmul(k.transpose(-1, -2)).div(new Scalar(Math.sqrt(8))).softmax(-1).matmul(v);
                assertTrue(TensorCompare.compare(upcast, reference, budget, 0).pass());
                // the budget is far below what a wrong scale gives
                assertTrue(TensorCompare.compare(upcast, q.matmul(k.transpose(-1, -2)).softmax(-1).matmul(v), budget, 0).maxAbsError() > 1e-2);
            }
        }
    }

    /**
     * What the flag is for: fp16 scores of SD 2.1's size overflow (here q·k/√d = 2·10⁵ > 65504), so
     * fp16 softmax gives NaN; the upcast kernel computes them in fp32 and returns fp16 probabilities·v.
     */
    @Test
    void upcastAttentionSurvivesScoresBeyondFp16() {
        try (Scope s = Scope.open()) {
            Tensor q = torch.full(new long[] {1, 1, 2, 4}, new Scalar(400.0)).to(ScalarType.Half);
            Tensor k = torch.full(new long[] {1, 1, 3, 4}, new Scalar(500.0)).to(ScalarType.Half);
            Tensor v = Tensor.create(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 1, 1, 3, 4).to(ScalarType.Half);
            Tensor naive = q.matmul(k.transpose(-1, -2)).div(new Scalar(2.0)).softmax(-1);
            assertTrue(naive.isnan().any().item_bool() || naive.isinf().any().item_bool(), "fp16 scores overflow");
            Tensor out = AttentionKernel.UPCAST.apply(q, k, v);
            assertEquals(ScalarType.Half, out.scalar_type().intern());
            // equal scores: the mean of v's rows, 5, 6, 7, 8
            Tensor expected = Tensor.create(new float[] {5, 6, 7, 8, 5, 6, 7, 8}, 1, 1, 2, 4);
            assertTrue(TensorCompare.compare(out.to(ScalarType.Float), expected, 1e-2, 0).pass());
        }
    }

    private static float[] embed(int dim, boolean flip, double shift, long t) {
        try (Scope s = Scope.open()) {
            Tensor emb = new Timesteps(dim, flip, shift).forward(Tensor.create(new long[] {t}, 1)).contiguous();
            assertArrayEquals(new long[] {1, dim}, emb.shape());
            float[] out = new float[dim];
            new FloatPointer(emb.data_ptr()).capacity(dim).get(out);
            return out;
        }
    }

    private static void assertClose(double[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], 2e-5, "element " + i);
    }

    /**
     * get_timestep_embedding: frequencies exp(−ln(10⁴)·j/(half − freq_shift)), j < half; [sin, cos]
     * unless flip_sin_to_cos, which puts cos first; an odd dim gets one zero column. With half = 3
     * and freq_shift = 1 the frequencies are 1, 10⁻², 10⁻⁴.
     */
    @Test
    void timestepsWithoutFlipAndWithAFrequencyShift() {
        long t = 500;
        double[] args = {t, t * 1e-2, t * 1e-4};
        double[] sinFirst = {Math.sin(args[0]), Math.sin(args[1]), Math.sin(args[2]), Math.cos(args[0]), Math.cos(args[1]), Math.cos(args[2])};
        assertClose(sinFirst, embed(6, false, 1, t));
        double[] cosFirst = {Math.cos(args[0]), Math.cos(args[1]), Math.cos(args[2]), Math.sin(args[0]), Math.sin(args[1]), Math.sin(args[2])};
        assertClose(cosFirst, embed(6, true, 1, t));
        double[] odd = java.util.Arrays.copyOf(sinFirst, 7);
        assertClose(odd, embed(7, false, 1, t));
        // SD's own setting (flip, shift 0): frequencies 10⁴^(−j/3) = 1, 10^(−4/3), 10^(−8/3)
        double f1 = Math.pow(10, -4.0 / 3), f2 = Math.pow(10, -8.0 / 3);
        long t2 = 981;
        assertClose(new double[] {Math.cos(t2), Math.cos(t2 * f1), Math.cos(t2 * f2), Math.sin(t2), Math.sin(t2 * f1), Math.sin(t2 * f2)},
                embed(6, true, 0, t2));
    }
}

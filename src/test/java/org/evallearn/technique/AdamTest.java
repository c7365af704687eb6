package org.evallearn.technique;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdamTest {
    @TempDir Path dir;

    private static double[] values(Tensor t) {
        Tensor d = t.detach().to(torch.ScalarType.Double).contiguous();
        double[] out = new double[(int) d.numel()];
        for (int i = 0; i < out.length; i++) out[i] = d.select(0, i).item_double();
        return out;
    }

    @Test
    void followsTorchAdamsUpdateOnAQuadratic() {
        Natives.load();
        double[] w = {1.0, -2.0, 0.5};
        double lr = 0.1;
        try (Scope s = Scope.open()) {
            Tensor p = Tensor.create(w.clone(), 3).to(torch.ScalarType.Float).requires_grad_(true);
            Adam adam = new Adam(Map.of("p", p), lr);
            // Reference: torch.optim.Adam's single-tensor step on loss = Σ w², gradient 2w, in doubles.
            double[] m = new double[3], v = new double[3];
            for (int t = 1; t <= 5; t++) {
                assertTrue(adam.step(p.mul(p).sum()));
                for (int i = 0; i < 3; i++) {
                    double g = 2 * w[i];
                    m[i] = 0.9 * m[i] + 0.1 * g;
                    v[i] = 0.999 * v[i] + 0.001 * g * g;
                    double denom = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(0.999, t)) + 1e-8;
                    w[i] -= lr / (1 - Math.pow(0.9, t)) * m[i] / denom;
                }
                assertArrayEquals(w, values(p), 1e-6, "step " + t);
            }
            assertEquals(1.0, adam.lossScale(), "fp32 is not loss-scaled");
        }
    }

    @Test
    void weightDecayIsTorchsL2TermWithTheGivenBetasAndEps() {
        Natives.load();
        double[] w = {1.0, -2.0, 0.5};
        Adam.Settings set = new Adam.Settings(5e-2, 0.9, 0.98, 1e-6, 0.2); // Espresso's betas, eps and decay; a larger lr to see it move
        try (Scope s = Scope.open()) {
            Tensor p = Tensor.create(w.clone(), 3).to(torch.ScalarType.Float).requires_grad_(true);
            Adam adam = new Adam(Map.of("p", p), set);
            // Reference: torch.optim.Adam (weight_decay adds λ·w to the gradient) on loss = Σ w³/3, gradient w², in doubles.
            double[] m = new double[3], v = new double[3];
            for (int t = 1; t <= 5; t++) {
                assertTrue(adam.step(p.mul(p).mul(p).sum().div(new Scalar(3.0))));
                for (int i = 0; i < 3; i++) {
                    double g = w[i] * w[i] + 0.2 * w[i];
                    m[i] = 0.9 * m[i] + 0.1 * g;
                    v[i] = 0.98 * v[i] + 0.02 * g * g;
                    double denom = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(0.98, t)) + 1e-6;
                    w[i] -= 5e-2 / (1 - Math.pow(0.9, t)) * m[i] / denom;
                }
                // Budget: float32 parameters and moments, five steps of size ~0.05: ~1e-7 relative.
                assertArrayEquals(w, values(p), 1e-6, "step " + t);
            }
        }
    }

    @Test
    void anOverflowingFp16StepIsSkippedAndHalvesTheScaleAndMastersKeepSmallUpdates() {
        Natives.load();
        try (Scope s = Scope.open()) {
            Tensor p = torch.ones(2).to(torch.ScalarType.Half).requires_grad_(true);
            Adam adam = new Adam(Map.of("p", p), 1e-4);
            assertEquals(65536.0, adam.lossScale());
            // 1e4 · 65536 overflows fp16 in the gradient: the step must be skipped, p untouched.
            assertFalse(adam.step(p.to(torch.ScalarType.Float).sum().mul(new Scalar(1e4))));
            assertEquals(32768.0, adam.lossScale());
            assertArrayEquals(new double[] {1, 1}, values(p), 0);
            // fp16's spacing at 1 is ~1e-3: 3 steps of 1e-4 only survive in the fp32 masters.
            for (int i = 0; i < 3; i++) assertTrue(adam.step(p.to(torch.ScalarType.Float).sum()));
            assertArrayEquals(new double[] {1 - 3e-4, 1 - 3e-4}, values(adam.masters().get("p")), 1e-6);
        }
    }

    @Test
    void aRestoredOptimizerContinuesExactlyAsTheSavedOne() {
        Natives.load();
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.create(new double[] {0.3, -1.2}, 2).to(torch.ScalarType.Float).requires_grad_(true);
            Tensor b = Tensor.create(new double[] {0.3, -1.2}, 2).to(torch.ScalarType.Float).requires_grad_(true);
            Adam first = new Adam(Map.of("w", a), 0.05);
            for (int i = 0; i < 3; i++) first.step(a.pow(new Scalar(3)).sum());
            first.save(dir.resolve("adam.safetensors"), Map.of("note", "x"));
            Adam second = new Adam(Map.of("w", b), 0.05);
            assertEquals("x", second.restore(dir.resolve("adam.safetensors")).get("note"));
            for (int i = 0; i < 3; i++) {
                first.step(a.pow(new Scalar(3)).sum());
                second.step(b.pow(new Scalar(3)).sum());
            }
            assertArrayEquals(values(a), values(b), 0);
        }
    }
}

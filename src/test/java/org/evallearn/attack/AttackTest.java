package org.evallearn.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipModel;
import org.evallearn.clip.TinyClip;
import org.evallearn.diffusion.Noise;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attacks against closed forms on a linear classifier (where FGSM, PGD and DeepFool have
 * exact answers), and their guarantees on a tiny CLIP tower with a zero-shot head. Fidelity to
 * foolbox itself is checked by the {@code attack-fgsm} golden fixture (GoldenSuiteTest).
 */
class AttackTest {
    private static final Bounds BOUNDS = new Bounds(-3, 3);
    private static final double EPS = 0.01;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    /** logits = x·Wᵀ + b over the flattened input: ∇ of the logit difference is constant. */
    private record Linear(Tensor w, Tensor b) implements DifferentiableClassifier {
        @Override
        public Tensor logits(Tensor x) {
            try (Scope s = Scope.open()) {
                return s.handUp(x.flatten(1, -1).matmul(w.t()).add(b));
            }
        }
    }

    private static Linear linear(long seed, long dim) {
        try (Scope s = Scope.open()) {
            Generator g = Noise.generator(seed);
            return new Linear(s.escape(Noise.randn(g, 2, dim)), s.escape(Noise.randn(g, 2).mul(new Scalar(0.1))));
        }
    }

    @Test
    void fgsmAndPgdOnALinearClassifierMoveEpsilonAlongTheSignOfTheWeightDifference() {
        try (Scope s = Scope.open()) {
            Linear model = linear(1, 12);
            Tensor x0 = Noise.randn(Noise.generator(2), 5, 3, 2, 2);
            Tensor labels = torch.zeros(new long[] {5}, new org.bytedeco.pytorch.TensorOptions().dtype(
                    new org.bytedeco.pytorch.ScalarTypeOptional(torch.ScalarType.Long)));
            // Cross-entropy toward label 0 grows along w1 − w0 everywhere, so each step moves by the
            // step size along sign(w1 − w0); PGD's 100 steps of ε/30 reach the ε box from any start.
            Tensor direction = model.w().get(1).sub(model.w().get(0)).sign().view(1, 3, 2, 2);
            Tensor expected = LinfGradientDescent.clip(x0.add(direction.mul(new Scalar(EPS))), -3, 3);
            assertExact(expected, LinfGradientDescent.fgsm().perturb(model, x0, labels, BOUNDS, EPS, null));
            assertExact(expected, LinfGradientDescent.pgd(100).perturb(model, x0, labels, BOUNDS, EPS, Noise.generator(3)));
        }
    }

    @Test
    void deepFoolOnALinearClassifierTakesTheClosedFormMinimalLinfStep() {
        try (Scope s = Scope.open()) {
            Linear model = linear(4, 12);
            Tensor x0 = Noise.randn(Noise.generator(5), 3, 12).mul(new Scalar(0.05));
            Tensor labels;
            Tensor dw = model.w().get(1).sub(model.w().get(0)), db = model.b().get(1).sub(model.b().get(0));
            try (NoGradGuard noGrad = new NoGradGuard()) {
                labels = model.logits(x0).argmax(new org.bytedeco.pytorch.LongOptional(1), false);
            }
            // For two classes f = Δw·x + Δb; DeepFool's L∞ step is (|f|/‖Δw‖₁ + 1e-4)·sign(∇(l_k − l_0)),
            // applied with overshoot 0.02, after which a linear classifier has flipped: one step.
            double[] expectedRows = new double[3 * 12];
            double l1 = dw.abs().sum().item_double();
            for (int i = 0; i < 3; i++) {
                double f = x0.get(i).mul(dw).sum().add(db).item_double();
                long label = labels.get(i).item_long();
                double distance = Math.abs(f) / (l1 + 1e-8) + 1e-4;
                for (int j = 0; j < 12; j++) {
                    double toward = (label == 0 ? 1 : -1) * Math.signum(dw.get(j).item_double());
                    expectedRows[i * 12 + j] = x0.get(i).get(j).item_double() + 1.02 * distance * toward;
                }
            }
            Tensor adversarial = new LinfDeepFool(100, 2, 0.02).perturb(model, x0, labels, BOUNDS, 10.0, null);
            assertArrayEquals(expectedRows, toDoubles(adversarial), 1e-5, "x0 + 1.02·(|f|/‖Δw‖₁ + 1e-4)·sign");
            boolean[] flipped = Robustness.attack(new LinfDeepFool(100, 2, 0.02), model, x0, labels, BOUNDS, 10.0, null).success();
            for (boolean b : flipped) assertTrue(b, "a linear classifier is flipped by its DeepFool step");
        }
    }

    @Test
    void gaussianNoiseHasL2NormEpsilonPerInputAndDependsOnlyOnTheSeed() {
        try (Scope s = Scope.open()) {
            Tensor x0 = Noise.randn(Noise.generator(6), 4, 3, 8, 8).mul(new Scalar(0.1));
            Tensor a = new GaussianNoise().perturb(null, x0, null, BOUNDS, EPS, Noise.generator(7));
            Tensor b = new GaussianNoise().perturb(null, x0, null, BOUNDS, EPS, Noise.generator(7));
            assertExact(a, b);
            for (int i = 0; i < 4; i++) {
                // Inputs well inside the bounds, so no clipping: the norm is ε up to float32 rounding.
                assertEquals(EPS, a.get(i).sub(x0.get(i)).square().sum().sqrt().item_double(), 1e-6);
            }
        }
    }

    @Test
    void onATinyClipTowerEveryAttackStaysInTheBallAndTheBoundsAndPgdSucceedsAtLeastAsOftenAsFgsm(@TempDir Path dir) {
        TinyClip.write(dir, 11);
        try (InferenceMode off = new InferenceMode(false); Scope s = Scope.open(); ClipModel clip = ClipModel.load(dir, Placement.CPU_F32)) {
            Tensor prompts = Noise.randn(Noise.generator(12), 2, TinyClip.PROJECTION_DIM);
            ClipHeadClassifier model = ClipHeadClassifier.zeroShot(clip, prompts, 100.0);
            // Pixels near the bounds too, so the clipping to (−3, 3) is exercised.
            Tensor x0 = Noise.randn(Noise.generator(13), 8, 3, 224, 224).mul(new Scalar(1.5)).clamp(
                    new org.bytedeco.pytorch.ScalarOptional(new Scalar(-3)), new org.bytedeco.pytorch.ScalarOptional(new Scalar(3)));
            Tensor labels;
            try (NoGradGuard noGrad = new NoGradGuard()) {
                labels = model.logits(x0).argmax(new org.bytedeco.pytorch.LongOptional(1), false);
            }
            double eps = 0.05;
            int fgsm = 0, pgd = 0;
            for (Attack attack : new Attack[] {LinfGradientDescent.fgsm(), LinfGradientDescent.pgd(20), new LinfDeepFool(20, 2, 0.02)}) {
                Tensor adversarial = attack.perturb(model, x0, labels, BOUNDS, eps, Noise.generator(14));
                // ε is exact in float32 up to one rounding of x0 + δ (|x| ≤ 3: ulp 2.4e-7).
                assertTrue(adversarial.sub(x0).abs().max().item_double() <= eps + 1e-6, attack.name() + " stays in the ε ball");
                assertTrue(adversarial.min().item_double() >= -3 && adversarial.max().item_double() <= 3, attack.name() + " stays in bounds");
                int successes = count(Robustness.attack(attack, model, x0, labels, BOUNDS, eps, Noise.generator(14)).success());
                if (attack.name().equals("fgsm")) fgsm = successes;
                if (attack.name().equals("pgd")) pgd = successes;
            }
            assertTrue(pgd >= fgsm, "PGD " + pgd + " ≥ FGSM " + fgsm + " successes of 8");
            assertTrue(pgd > 0, "PGD flips at least one decision of a random tower at ε = 0.05");
        }
    }

    @Test
    void gradientsRefuseInferenceMode() {
        try (InferenceMode on = new InferenceMode(); Scope s = Scope.open()) {
            Linear model = linear(1, 4);
            Tensor x = Noise.randn(Noise.generator(2), 1, 4);
            assertThrows(IllegalStateException.class, () -> Gradients.crossEntropy(model, x, x.argmax(new org.bytedeco.pytorch.LongOptional(1), false)));
        }
    }

    @Test
    void unknownAttackNamesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Attack.named("cw"));
        assertEquals("pgd", Attack.named("pgd").name());
    }

    private static int count(boolean[] b) {
        int n = 0;
        for (boolean v : b) if (v) n++;
        return n;
    }

    private static double[] toDoubles(Tensor t) {
        Tensor d = t.contiguous().to(torch.ScalarType.Double).flatten();
        double[] out = new double[(int) d.numel()];
        for (int i = 0; i < out.length; i++) out[i] = d.get(i).item_double();
        return out;
    }

    private static void assertExact(Tensor expected, Tensor actual) {
        assertArrayEquals(toDoubles(expected), toDoubles(actual), 0.0);
    }
}

package org.evallearn.espresso;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.config.Technique.EspressoRule;
import org.evallearn.tensor.Natives;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The rules and δ on chosen embeddings, against the formulas computed here in plain Java doubles.
 * The inputs are float32 values (exact in both computations), and the filter works in float64, so
 * the two differ only by float64 rounding in sums of 16 terms and a softmax: well under 1e-12.
 * TOL = 1e-9 leaves room for any reduction order a CPU's kernels pick.
 */
class ConceptFilterTest {
    static final double TOL = 1e-9;
    static final int D = 16;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    static float[] random(Random r) {
        float[] v = new float[D];
        for (int i = 0; i < D; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    static Tensor tensor(float[]... rows) {
        float[] flat = new float[rows.length * D];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * D, D);
        return Tensor.create(flat, rows.length, D);
    }

    static float[] basis(double... head) {
        float[] v = new float[D];
        for (int i = 0; i < head.length; i++) v[i] = (float) head[i];
        return v;
    }

    // ---- the independent computation ----

    static double[] unit(float[] v) {
        double n = 0;
        for (float x : v) n += (double) x * x;
        n = Math.sqrt(n);
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i] / n;
        return out;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    /** softmax([a, b])[0] */
    static double first(double a, double b) {
        return 1 / (1 + Math.exp(b - a));
    }

    static double zeroShot(float[] x, float[] tu, float[] ta, double logitScale) {
        double s = Math.exp(logitScale);
        double[] xh = unit(x);
        return first(s * dot(xh, unit(tu)), s * dot(xh, unit(ta)));
    }

    static double projection(float[] x, float[] tu, float[] ta) {
        double[] u = unit(tu), a = unit(ta), xh = unit(x);
        double[] d = new double[D];
        for (int i = 0; i < D; i++) d[i] = u[i] - a[i];
        double dn = norm(d);
        for (int i = 0; i < D; i++) d[i] /= dn;
        double c = dot(d, xh);
        double[] toU = new double[D], toA = new double[D];
        for (int i = 0; i < D; i++) {
            toU[i] = c * d[i] - u[i];
            toA[i] = c * d[i] - a[i];
        }
        return first(-norm(toU), -norm(toA));
    }

    // ---- tests ----

    @Test
    void bothRulesEqualTheirFormulasOnRandomEmbeddings() {
        Random r = new Random(11);
        float[] tu = random(r), ta = random(r);
        float[][] xs = {random(r), random(r), random(r), random(r), random(r)};
        for (double logitScale : new double[] {Math.log(1 / 0.07), Math.log(100)}) {
            try (Tensor u = tensor(tu); Tensor a = tensor(ta); Tensor x = tensor(xs);
                    ConceptFilter zs = new ConceptFilter(u, a, logitScale, EspressoRule.ZERO_SHOT);
                    ConceptFilter pr = new ConceptFilter(u, a, logitScale, EspressoRule.PROJECTION)) {
                List<ConceptFilter.Verdict> z = zs.judge(x), p = pr.judge(x);
                int unacceptable = 0;
                for (int i = 0; i < xs.length; i++) {
                    double ez = zeroShot(xs[i], tu, ta, logitScale), ep = projection(xs[i], tu, ta);
                    assertEquals(ez, z.get(i).pUnacceptable(), TOL);
                    assertEquals(ez > 1 - ez, z.get(i).unacceptable());
                    assertEquals(ep, p.get(i).pUnacceptable(), TOL);
                    assertEquals(ep > 1 - ep, p.get(i).unacceptable());
                    assertEquals(EspressoRule.PROJECTION, p.get(i).rule());
                    if (z.get(i).unacceptable()) unacceptable++;
                }
                // Both verdicts occur, so the comparison is not decided by a constant.
                assertTrue(unacceptable > 0 && unacceptable < xs.length, "unacceptable " + unacceptable + " of " + xs.length);
                double[] d = new double[D];
                double[] uu = unit(tu), aa = unit(ta);
                for (int i = 0; i < D; i++) d[i] = uu[i] - aa[i];
                assertEquals(norm(d), zs.separation(), TOL);
            }
        }
    }

    @Test
    void theRulesAreScaleInvariantInTheImageEmbedding() {
        Random r = new Random(2);
        float[] tu = random(r), ta = random(r), x = random(r);
        float[] x8 = new float[D];
        for (int i = 0; i < D; i++) x8[i] = x[i] * 8; // a power of two: exact in float32
        for (EspressoRule rule : EspressoRule.values()) {
            try (Tensor u = tensor(tu); Tensor a = tensor(ta); Tensor xs = tensor(x, x8); ConceptFilter f = new ConceptFilter(u, a, 4.6, rule)) {
                List<ConceptFilter.Verdict> v = f.judge(xs);
                assertEquals(v.get(0).pUnacceptable(), v.get(1).pUnacceptable(), TOL);
            }
        }
    }

    @Test
    void anImageEquallyCloseToBothTextsIsAtTheBoundaryAndAcceptable() {
        // cos(x, e1) = cos(x, e2) exactly, so both scores are equal and p_u = p_a = 0.5: not p_u > p_a.
        float[] tu = basis(1, 0, 0), ta = basis(0, 1, 0);
        float[] atBoundary = basis(1, 1, 0.5);
        float[] justAbove = basis(1.001, 1, 0.5);
        for (EspressoRule rule : EspressoRule.values()) {
            try (Tensor u = tensor(tu); Tensor a = tensor(ta); Tensor x = tensor(atBoundary, justAbove);
                    ConceptFilter f = new ConceptFilter(u, a, Math.log(100), rule)) {
                List<ConceptFilter.Verdict> v = f.judge(x);
                assertEquals(0.5, v.get(0).pUnacceptable(), 0.0, rule.id());
                assertFalse(v.get(0).unacceptable(), rule.id());
                assertTrue(v.get(1).pUnacceptable() > 0.5, rule.id());
                assertTrue(v.get(1).unacceptable(), rule.id());
            }
        }
        try (Tensor u = tensor(tu); Tensor a = tensor(ta); Tensor x = tensor(atBoundary);
                ConceptFilter f = new ConceptFilter(u, a, Math.log(100), EspressoRule.ZERO_SHOT)) {
            ConceptFilter.Certificate c = f.certify(x).get(0);
            // δ = (1 − s/(s + 0))·‖e‖ = 0: nothing moves, the (acceptable) decision holds trivially.
            assertEquals(0.0, c.delta(), 0.0);
            assertEquals(0.5, c.pUnacceptablePerturbed(), 0.0);
            assertFalse(c.unacceptable());
            assertTrue(c.holds());
        }
    }

    @Test
    void deltaAndTheCertifiedDecisionEqualCertifiedRobustPy() {
        Random r = new Random(7);
        float[] tu = random(r), ta = random(r);
        float[][] xs = new float[8][];
        for (int i = 0; i < xs.length; i++) xs[i] = random(r);
        // A confidently unacceptable image: mostly t_u.
        for (int i = 0; i < D; i++) xs[0][i] = 3 * tu[i] + 0.1f * xs[0][i];
        double logitScale = Math.log(100);
        double s = Math.exp(logitScale);
        try (Tensor u = tensor(tu); Tensor a = tensor(ta); Tensor x = tensor(xs);
                ConceptFilter f = new ConceptFilter(u, a, logitScale, EspressoRule.PROJECTION)) {
            List<ConceptFilter.Certificate> certs = f.certify(x);
            int held = 0;
            for (int i = 0; i < xs.length; i++) {
                double pu = zeroShot(xs[i], tu, ta, logitScale);
                double normX = norm(toDouble(xs[i]));
                double delta = (1 - s / (s + 2 * Math.abs(pu - 0.5))) * normX;
                double[] movedD = new double[D];
                for (int k = 0; k < D; k++) movedD[k] = xs[i][k] - delta;
                double puAfter = first(s * dot(unitD(movedD), unit(tu)), s * dot(unitD(movedD), unit(ta)));
                ConceptFilter.Certificate c = certs.get(i);
                assertEquals(delta, c.delta(), TOL * Math.max(1, normX));
                assertEquals(pu, c.pUnacceptable(), TOL);
                assertEquals(puAfter, c.pUnacceptablePerturbed(), TOL);
                assertEquals(pu > 0.5, c.unacceptable());
                assertEquals((pu > 0.5) == (puAfter > 0.5), c.holds());
                assertTrue(c.delta() > 0);
                if (c.holds()) held++;
            }
            assertTrue(certs.get(0).unacceptable(), "the image built from t_u is unacceptable");
            assertTrue(held > 0, "some decisions hold");
        }
    }

    static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    static double[] unitD(double[] v) {
        double n = norm(v);
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i] / n;
        return out;
    }

    @Test
    void aPairWithoutSeparationIsRefusedNamingWhy() {
        Random r = new Random(3);
        float[] tu = random(r);
        float[] scaled = new float[D];
        for (int i = 0; i < D; i++) scaled[i] = tu[i] * 3;
        for (EspressoRule rule : EspressoRule.values()) {
            try (Tensor u = tensor(tu); Tensor a = tensor(scaled)) {
                ConceptFilter.DegeneratePairException e = assertThrows(ConceptFilter.DegeneratePairException.class,
                        () -> new ConceptFilter(u, a, 4.6, rule));
                assertTrue(e.getMessage().contains("same direction"), e.getMessage());
            }
        }
    }

    @Test
    void embeddingsOfAnotherWidthAreRefused() {
        Random r = new Random(4);
        try (Tensor u = tensor(random(r)); Tensor a = tensor(random(r)); ConceptFilter f = new ConceptFilter(u, a, 4.6, EspressoRule.ZERO_SHOT);
                Tensor wrong = Tensor.create(new float[10], 2, 5)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.judge(wrong));
            assertTrue(e.getMessage().contains("(batch, 16)"), e.getMessage());
        }
    }
}

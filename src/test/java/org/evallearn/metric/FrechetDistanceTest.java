package org.evallearn.metric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** FID's distance against closed forms, and the streamed statistics against numpy's definitions computed here in plain doubles. */
class FrechetDistanceTest {
    @BeforeAll
    static void natives() {
        Natives.load();
    }

    private static Tensor doubles(double[][] m) {
        Tensor t = torch.zeros(m.length, m[0].length).to(ScalarType.Double);
        for (int i = 0; i < m.length; i++) for (int j = 0; j < m[0].length; j++) t.get(i).get(j).fill_(new Scalar(m[i][j]));
        return t;
    }

    private static Tensor vector(double... v) {
        Tensor t = torch.zeros(v.length).to(ScalarType.Double);
        for (int i = 0; i < v.length; i++) t.get(i).fill_(new Scalar(v[i]));
        return t;
    }

    @Test
    void commutingCovariancesGiveTheDiagonalClosedForm() {
        try (Scope s = Scope.open()) {
            int d = 16;
            Random r = new Random(1);
            double[] a = new double[d], b = new double[d], m1 = new double[d], m2 = new double[d];
            double expected = 0;
            for (int i = 0; i < d; i++) {
                a[i] = 0.1 + r.nextDouble() * 3;
                b[i] = 0.1 + r.nextDouble() * 3;
                m1[i] = r.nextGaussian();
                m2[i] = r.nextGaussian();
                expected += (m1[i] - m2[i]) * (m1[i] - m2[i]) + a[i] + b[i] - 2 * Math.sqrt(a[i] * b[i]);
            }
            // The same random rotation of both: Σ₁ = Q·diag(a)·Qᵀ, Σ₂ = Q·diag(b)·Qᵀ commute, so tr(Σ₁Σ₂)^½ = Σ√(aᵢbᵢ).
            Tensor q = torch.linalg_qr(torch.randn(d, d).to(ScalarType.Double)).get0();
            Tensor s1 = q.matmul(torch.diag(vector(a))).matmul(q.t()), s2 = q.matmul(torch.diag(vector(b))).matmul(q.t());
            assertEquals(expected, FrechetDistance.of(vector(m1), s1, vector(m2), s2), 1e-9 * d);
        }
    }

    @Test
    void nonCommuting2x2MatchesTheTraceOfTheSquareRootFromItsInvariants() {
        try (Scope s = Scope.open()) {
            double[][] a = {{2.0, 0.7}, {0.7, 1.0}}, b = {{0.5, -0.3}, {-0.3, 1.5}};
            // M = AB has eigenvalues λ₁, λ₂ ≥ 0, so (√λ₁ + √λ₂)² = tr M + 2·√det M.
            double tr = a[0][0] * b[0][0] + a[0][1] * b[1][0] + a[1][0] * b[0][1] + a[1][1] * b[1][1];
            double det = (a[0][0] * a[1][1] - a[0][1] * a[1][0]) * (b[0][0] * b[1][1] - b[0][1] * b[1][0]);
            double expected = 1.0 * 1.0 + 0 + (2.0 + 1.0) + (0.5 + 1.5) - 2 * Math.sqrt(tr + 2 * Math.sqrt(det));
            assertEquals(expected, FrechetDistance.of(vector(1, 0), doubles(a), vector(0, 0), doubles(b)), 1e-12);
        }
    }

    @Test
    void fewerImagesThanDimensionsStillGiveZeroForASetAgainstItself() {
        try (Scope s = Scope.open(); FeatureStatistics x = new FeatureStatistics(64); FeatureStatistics y = new FeatureStatistics(64)) {
            Tensor features = torch.randn(10, 64);
            x.add(features);
            y.add(features.narrow(0, 0, 4));
            y.add(features.narrow(0, 4, 6));
            // Rank-9 covariances: scipy's sqrtm of the product is where eval-learn falls back to ε·I.
            assertEquals(0.0, FrechetDistance.between(x, y), 1e-9 * x.covariance().trace().item_double());
        }
    }

    @Test
    void streamedStatisticsAreNumpysMeanAndUnbiasedCovariance() {
        Random r = new Random(3);
        int n = 7, d = 3;
        double[][] f = new double[n][d];
        for (double[] row : f) for (int k = 0; k < d; k++) row[k] = r.nextGaussian() * (k + 1) + k;
        try (Scope s = Scope.open(); FeatureStatistics stats = new FeatureStatistics(d)) {
            Tensor all = doubles(f).to(ScalarType.Float);
            stats.add(all.narrow(0, 0, 3));
            stats.add(all.narrow(0, 3, 4));
            assertEquals(n, stats.count());
            double[] mean = new double[d];
            for (double[] row : f) for (int k = 0; k < d; k++) mean[k] += (float) row[k] / (double) n;
            for (int k = 0; k < d; k++) assertEquals(mean[k], stats.mean().get(k).item_double(), 1e-12);
            for (int i = 0; i < d; i++) {
                for (int j = 0; j < d; j++) {
                    double c = 0;
                    for (double[] row : f) c += ((float) row[i] - mean[i]) * ((float) row[j] - mean[j]);
                    assertEquals(c / (n - 1), stats.covariance().get(i).get(j).item_double(), 1e-10);
                }
            }
        }
    }

    @Test
    void oneFeatureVectorHasNoCovariance() {
        try (Scope s = Scope.open(); FeatureStatistics stats = new FeatureStatistics(4)) {
            stats.add(torch.zeros(1, 4));
            assertThrows(IllegalStateException.class, stats::covariance);
            assertThrows(IllegalArgumentException.class, () -> stats.add(torch.zeros(2, 5)));
        }
    }
}

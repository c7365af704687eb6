package org.evallearn.metric;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.Scope;

/**
 * The Fréchet distance between two Gaussians, FID's formula:
 * ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2·tr (Σ₁Σ₂)^½, in float64.
 *
 * <p>tr (Σ₁Σ₂)^½ is computed from symmetric eigendecompositions only: with S = Σ₁^½ (from
 * eigh, negative rounding eigenvalues clipped to 0), Σ₁Σ₂ is similar to the symmetric PSD
 * S·Σ₂·S, so the trace is Σᵢ √λᵢ(S·Σ₂·S), with eigenvalues at rounding level taken as 0. eval-learn (and pytorch-fid) call scipy's general
 * {@code sqrtm} on the non-symmetric product, which can return complex or non-finite results on
 * rank-deficient covariances (fewer images than 2048 dimensions) and then retries with ε·I added;
 * this form needs neither, and agrees with it where sqrtm is accurate.
 */
public final class FrechetDistance {
    private FrechetDistance() {}

    public static double between(FeatureStatistics a, FeatureStatistics b) {
        try (Scope s = Scope.open()) {
            return of(a.mean(), a.covariance(), b.mean(), b.covariance());
        }
    }

    /** @param mu1 (D,) @param sigma1 (D, D) symmetric PSD; any float dtype, computed in float64 */
    public static double of(Tensor mu1, Tensor sigma1, Tensor mu2, Tensor sigma2) {
        try (Scope s = Scope.open()) {
            Tensor m1 = mu1.cpu().to(ScalarType.Double), m2 = mu2.cpu().to(ScalarType.Double);
            Tensor s1 = symmetric(sigma1.cpu().to(ScalarType.Double)), s2 = symmetric(sigma2.cpu().to(ScalarType.Double));
            double meanTerm = m1.sub(m2).square().sum().item_double();
            Tensor root1 = sqrtPsd(s1);
            Tensor product = symmetric(root1.matmul(s2).matmul(root1));
            double traceSqrt = resolvedRoots(torch.linalg_eigvalsh(product)).sum().item_double();
            return meanTerm + s1.trace().item_double() + s2.trace().item_double() - 2 * traceSqrt;
        }
    }

    /** A^½ of a symmetric PSD matrix by eigh, rounding-negative eigenvalues taken as 0. */
    static Tensor sqrtPsd(Tensor a) {
        try (Scope s = Scope.open()) {
            T_TensorTensor_T eigh = torch.linalg_eigh(a);
            Tensor values = resolvedRoots(eigh.get0());
            Tensor vectors = eigh.get1();
            return s.handUp(vectors.mul(values.unsqueeze(0)).matmul(vectors.t()));
        }
    }

    /**
     * √λ of a PSD matrix's eigenvalues, those below D·ε·max λ taken as exactly 0: eigh returns
     * them as ±rounding noise, and √(1e-15) = 3e-8 per dimension would add up to 1e-5 over the
     * ~2000 empty dimensions of a covariance from fewer images than features.
     */
    private static Tensor resolvedRoots(Tensor eigenvalues) {
        double max = eigenvalues.abs().max().item_double();
        double floor = eigenvalues.size(0) * Math.ulp(1.0) * max;
        try (Scope s = Scope.open()) {
            Tensor kept = eigenvalues.gt(new Scalar(floor));
            return s.handUp(eigenvalues.clamp_min(new Scalar(0.0)).sqrt().mul(kept));
        }
    }

    /** (A + Aᵀ)/2: removes the asymmetry accumulated by rounding, which eigh would otherwise ignore silently. */
    private static Tensor symmetric(Tensor a) {
        return a.add(a.t()).mul(new Scalar(0.5));
    }
}

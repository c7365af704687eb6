package org.evallearn.testing;

/**
 * The unit of the tests' float32 error budgets. Two kernels that compute the same float32 result
 * in another order (another blocking of a GEMM, another vector width, another thread split) differ
 * by rounding only: each operation is off by at most half an ulp, so a quantity of magnitude M
 * that went through n dependent roundings differs by at most about n · EPS · M. A budget states n
 * (layers × steps, terms of a sum) beside the tolerance it gives; the kernel families that
 * {@code .ci/run} runs the conformance tests under (ATEN_CPU_CAPABILITY=default, avx2, avx512;
 * 1 and 2 threads) are the ones measured.
 */
public final class Fp32 {
    /** float32 machine epsilon, 2⁻²³: the spacing of floats in [1, 2). */
    public static final double EPS = Math.ulp(1.0f);

    private Fp32() {}

    /** The libtorch kernel family in use ("DEFAULT", "AVX2", "AVX512"), which ATEN_CPU_CAPABILITY can force. */
    public static String cpuCapability() {
        org.evallearn.tensor.Natives.load();
        return org.bytedeco.pytorch.global.torch.get_cpu_capability().getString();
    }
}

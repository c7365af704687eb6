package org.evallearn.tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CUDA libraries the {@code -Pgpu} natives link against, and where a server gets each one.
 * The presets' libtorch 2.10 CUDA build ({@code readelf -d} on its {@code linux-x86_64-gpu}
 * libraries) needs CUDA 13 (cudart, cuBLAS/cuBLASLt 13, cuSPARSE 12, cuSOLVER 12, cuFFT 12,
 * cuRAND 10, cuFile, CUPTI), cuDNN 9 and NCCL 2; the cuda-redist jar bundles cudart, CUPTI,
 * cuFFT, cuRAND, cuFile, nvJitLink and nvrtc, the server provides the rest.
 */
public final class CudaLibraries {
    private CudaLibraries() {}

    /**
     * cuDNN 9's {@code libcudnn.so.9} is a small front that opens its engines with {@code dlopen};
     * libtorch's JNI for CUDA ({@code libjnitorch_cuda.so}) names four of them. Checked with the
     * front, or a server with only {@code libcudnn.so.9} would fail at the first convolution.
     */
    public static final Map<String, String> CUDNN_ENGINES = engines();

    private static Map<String, String> engines() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String e : List.of("graph", "ops", "cnn", "adv", "engines_precompiled", "engines_runtime_compiled", "heuristic")) {
            m.put("libcudnn_" + e + ".so.9", "libcudnn.so.9");
        }
        return m;
    }

    /** The package that provides {@code soname}: what to install when it is missing. */
    public static String providedBy(String soname) {
        String base = soname.replaceAll("\\.so(\\..*)?$", "");
        return switch (base) {
            case "libcudart" -> "the CUDA 13 runtime: CUDA 13.x toolkit, apt cuda-cudart-13-1";
            case "libcublas", "libcublasLt" -> "cuBLAS 13: CUDA 13.x toolkit, apt libcublas-13-1";
            case "libcusparse" -> "cuSPARSE 12: CUDA 13.x toolkit, apt libcusparse-13-1";
            case "libcusolver" -> "cuSOLVER 12: CUDA 13.x toolkit, apt libcusolver-13-1";
            case "libcufft" -> "cuFFT 12: CUDA 13.x toolkit, apt libcufft-13-1";
            case "libcurand" -> "cuRAND 10: CUDA 13.x toolkit, apt libcurand-13-1";
            case "libcufile", "libcufile_rdma" -> "cuFile: CUDA 13.x toolkit, apt libcufile-13-1";
            case "libcupti" -> "CUPTI: CUDA 13.x toolkit, apt cuda-cupti-13-1";
            case "libnvJitLink" -> "nvJitLink: CUDA 13.x toolkit, apt libnvjitlink-13-1";
            case "libnvrtc", "libnvrtc-builtins" -> "NVRTC: CUDA 13.x toolkit, apt cuda-nvrtc-13-1";
            case "libnccl" -> "NCCL 2 built for CUDA 13: apt libnccl2 from NVIDIA's CUDA 13 repository";
            case "libcuda" -> "the NVIDIA driver, 580 or newer for CUDA 13";
            default -> base.startsWith("libcudnn") ? "cuDNN 9 for CUDA 13: apt libcudnn9-cuda-13"
                    : "no CUDA package known to evallearn: check the server's installation";
        };
    }

    /**
     * The missing libraries grouped by what provides them:
     * {@code libcublas.so.13, libcublasLt.so.13 (from cuBLAS 13: ...); libnccl.so.2 (from NCCL 2 ...)}.
     */
    public static String describe(List<SharedLibraries.Missing> missing) {
        Map<String, java.util.Set<String>> byProvider = new LinkedHashMap<>();
        for (SharedLibraries.Missing m : missing) {
            byProvider.computeIfAbsent(providedBy(m.soname()), k -> new java.util.LinkedHashSet<>()).add(m.soname());
        }
        StringBuilder s = new StringBuilder();
        byProvider.forEach((provider, sonames) -> {
            if (s.length() > 0) s.append("; ");
            s.append(String.join(", ", sonames)).append(" (from ").append(provider).append(')');
        });
        return s.toString();
    }
}

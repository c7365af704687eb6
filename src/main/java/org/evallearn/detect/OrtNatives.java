package org.evallearn.detect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Loader;
import org.evallearn.tensor.CudaLibraries;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.SharedLibraries;

/**
 * Loads ONNX Runtime from the JavaCPP presets and nothing else, the way {@link Natives} loads
 * libtorch: each preset's whole native folder (dnnl, OpenCL loader, onnxruntime with its provider
 * libraries) is extracted, every library is loaded by absolute path from there, dependencies
 * first, and recorded with JavaCPP under its preset name, so JavaCPP never falls back to a
 * {@code libonnxruntime.so} or {@code libOpenCL.so.1} on the system path.
 *
 * <p>The {@code -Pgpu} build's CUDA execution provider ({@code libonnxruntime_providers_cuda.so})
 * is loaded only when everything it needs is found (cuBLAS 13, cuDNN 9, …); otherwise JavaCPP is
 * told to skip its name ({@link Natives#skip}), and {@link #cudaProblem} says what is missing.
 */
public final class OrtNatives {
    private static final String CUDA_PROVIDER = "libonnxruntime_providers_cuda.so";

    /**
     * @param folder the onnxruntime preset folder in use ({@code linux-x86_64} or {@code linux-x86_64-gpu})
     * @param cudaPlan what the CUDA provider needs, found or missing; null in the CPU build
     * @param cudaProblem why the CUDA provider cannot be used; null when it loaded
     */
    public record Status(String folder, SharedLibraries.Plan cudaPlan, String cudaProblem) {}

    private static volatile Status status;

    private OrtNatives() {}

    public static void load() {
        status();
    }

    public static Status status() {
        Status s = status;
        if (s != null) return s;
        synchronized (OrtNatives.class) {
            if (status != null) return status;
            status = loadOrt();
            return status;
        }
    }

    private static Status loadOrt() {
        String platform = Loader.getPlatform();
        boolean gpu = gpuBuild();
        String ortFolder = platform + (gpu ? "-gpu" : "");
        List<Path> dirs = new ArrayList<>();
        dirs.addAll(Natives.extract(OrtNatives.class, "/org/bytedeco/dnnl/" + platform));
        Path openclDir = Natives.extract(OrtNatives.class, "/org/bytedeco/opencl/" + platform).get(0);
        dirs.add(openclDir);
        if (gpu && OrtNatives.class.getResource("/org/bytedeco/cuda/" + platform + "/") != null) {
            dirs.addAll(Natives.extract(OrtNatives.class, "/org/bytedeco/cuda/" + platform));
        }
        Path ortDir = Natives.extract(OrtNatives.class, "/org/bytedeco/onnxruntime/" + ortFolder).get(0);
        dirs.add(ortDir);
        SharedLibraries libraries = SharedLibraries.withSystemFolders(Natives.reversed(dirs));
        SharedLibraries.Plan core = libraries.plan(List.of(ortDir.resolve("libonnxruntime.so.1"),
                ortDir.resolve("libonnxruntime_providers_shared.so"), ortDir.resolve("libonnxruntime_providers_dnnl.so"),
                openclDir.resolve("libOpenCL.so.1")), Map.of());
        if (!core.complete()) {
            throw new IllegalStateException("ONNX Runtime in " + ortDir + " needs " + core.missing()
                    + ", which is neither in the jar nor on this system: the jar is incomplete");
        }
        try {
            Natives.loadInOrder(core.order());
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalStateException("cannot load ONNX Runtime from " + ortDir + ": " + e.getMessage(), e);
        }
        SharedLibraries.Plan cudaPlan = null;
        String cudaProblem = "this build has the CPU-only ONNX Runtime natives (build with mvn -Pgpu)";
        if (gpu) {
            cudaPlan = libraries.plan(List.of(ortDir.resolve(CUDA_PROVIDER)), CudaLibraries.CUDNN_ENGINES);
            cudaProblem = cudaPlan.complete() ? null : "missing " + CudaLibraries.describe(cudaPlan.missing());
            if (cudaProblem == null) {
                try {
                    Natives.loadInOrder(cudaPlan.order());
                } catch (UnsatisfiedLinkError e) {
                    cudaProblem = "the CUDA libraries were found but one did not load: " + e.getMessage();
                }
            }
            if (cudaProblem != null) Natives.skip("onnxruntime_providers_cuda");
        }
        Loader.load(org.bytedeco.onnxruntime.global.onnxruntime.class);
        return new Status(ortFolder, cudaPlan, cudaProblem);
    }

    /** Whether the classpath has the onnxruntime gpu natives ({@code mvn -Pgpu}), which keep them under {@code <platform>-gpu}. */
    public static boolean gpuBuild() {
        return OrtNatives.class.getResource("/org/bytedeco/onnxruntime/" + Loader.getPlatform() + "-gpu/") != null;
    }

    /**
     * Why the CUDA execution provider cannot be used (the CPU build, or which CUDA 13 / cuDNN 9
     * libraries it lacks), or null when it and everything it links are loaded.
     */
    static String cudaProblem() {
        return status().cudaProblem();
    }
}

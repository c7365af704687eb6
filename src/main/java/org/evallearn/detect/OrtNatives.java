package org.evallearn.detect;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.bytedeco.javacpp.Loader;

/**
 * Loads ONNX Runtime from the JavaCPP presets and nothing else, for the reason given in
 * {@link org.evallearn.tensor.Natives}: each preset's whole native folder (dnnl, OpenCL loader,
 * onnxruntime with its provider libraries) is extracted before the first library is loaded, so
 * every dependency resolves inside JavaCPP's cache and never from the system path.
 */
public final class OrtNatives {
    private static volatile boolean loaded;

    private OrtNatives() {}

    public static void load() {
        if (loaded) return;
        synchronized (OrtNatives.class) {
            if (loaded) return;
            String platform = Loader.getPlatform();
            try {
                Loader.cacheResources(OrtNatives.class, "/org/bytedeco/dnnl/" + platform);
                Loader.cacheResources(OrtNatives.class, "/org/bytedeco/opencl/" + platform);
                Loader.cacheResources(OrtNatives.class, "/org/bytedeco/onnxruntime/" + platform + (gpuBuild() ? "-gpu" : ""));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot extract the ONNX Runtime natives for " + platform, e);
            }
            Loader.load(org.bytedeco.onnxruntime.global.onnxruntime.class);
            loaded = true;
        }
    }

    /** Whether the classpath has the onnxruntime gpu natives ({@code mvn -Pgpu}), which keep them under {@code <platform>-gpu}. */
    public static boolean gpuBuild() {
        return OrtNatives.class.getResource("/org/bytedeco/onnxruntime/" + Loader.getPlatform() + "-gpu/") != null;
    }

    /**
     * Loads the CUDA libraries the CUDA execution provider links (CUDA 13 runtime, cuBLAS, cuFFT,
     * cuDNN 9) from the JavaCPP cuda presets of the gpu build, so ONNX Runtime's dlopen of its
     * provider resolves them from JavaCPP's cache. Returns what is missing, or null when all loaded.
     */
    static String loadCuda() {
        if (!gpuBuild()) return "this build has the CPU-only ONNX Runtime natives (build with mvn -Pgpu)";
        for (String c : new String[] {"cudart", "cublas", "cufft", "cudnn"}) {
            try {
                Loader.load(Class.forName("org.bytedeco.cuda.global." + c));
            } catch (ClassNotFoundException | LinkageError e) {
                return "cannot load CUDA library " + c + " (" + e + ")";
            }
        }
        return null;
    }
}

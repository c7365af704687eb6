package org.evallearn.tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.bytedeco.javacpp.Loader;

/**
 * Loads libtorch from the JavaCPP presets and nothing else.
 *
 * <p>JavaCPP extracts libraries one by one as they are asked for; when a dependency of
 * {@code libjnitorch.so} is not yet in the cache the dynamic linker falls back to the system
 * path, where Debian's {@code libtorch1.13} may sit, and the JVM dies mixing the two. Extracting
 * each preset's whole native folder first means every dependency resolves inside the cache.
 *
 * <p>OpenBLAS runs single-threaded unless {@code OPENBLAS_NUM_THREADS} is set: see {@link #load}.
 */
public final class Natives {
    static final String EXTENSION_PROPERTY = "org.bytedeco.javacpp.platform.extension";
    static final String GPU_EXTENSION = "-gpu";

    private static volatile boolean loaded;

    private Natives() {}

    public static void load() {
        if (loaded) return;
        synchronized (Natives.class) {
            if (loaded) return;
            String platform = Loader.getPlatform();
            try {
                for (String folder : folders(platform, System.getProperty(EXTENSION_PROPERTY), Natives::onClasspath)) {
                    Loader.cacheResources(Natives.class, folder);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot extract the libtorch natives for " + platform, e);
            }
            Loader.load(org.bytedeco.pytorch.global.torch.class);
            if (System.getenv("OPENBLAS_NUM_THREADS") == null) {
                // libtorch already splits work over its own OpenMP threads; OpenBLAS threads that
                // spin beside them oversubscribe the cores, and every parallel op then waits
                // milliseconds for a thread to be scheduled (tiny UNet step: 740 ms vs 30 ms on 2 cores).
                org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(1);
            }
            loaded = true;
        }
    }

    /**
     * The native folders to extract before torch loads, dependencies first. The presets' GPU jars
     * keep libtorch under {@code <platform>-gpu}; JavaCPP prefers that folder when it is on the
     * classpath (unless {@value #EXTENSION_PROPERTY} says otherwise), so the folder extracted here
     * is the one present, not the one a property names: a {@code -Pgpu} jar run without the
     * property is guarded too. The CUDA preset's folder comes with it when present.
     *
     * @param extension the value of {@value #EXTENSION_PROPERTY}, null when unset
     * @param onClasspath whether a resource folder (ending in {@code /}) is on the classpath
     */
    static List<String> folders(String platform, String extension, Predicate<String> onClasspath) {
        String gpuTorch = "/org/bytedeco/pytorch/" + platform + GPU_EXTENSION + "/";
        boolean gpu = (extension == null || extension.equals(GPU_EXTENSION)) && onClasspath.test(gpuTorch);
        List<String> folders = new ArrayList<>();
        folders.add("/org/bytedeco/openblas/" + platform + "/");
        if (gpu) {
            String cuda = "/org/bytedeco/cuda/" + platform + "/";
            if (onClasspath.test(cuda)) folders.add(cuda);
            folders.add(gpuTorch);
        } else {
            folders.add("/org/bytedeco/pytorch/" + platform + "/");
        }
        return folders;
    }

    private static boolean onClasspath(String folder) {
        return Natives.class.getResource(folder) != null;
    }
}

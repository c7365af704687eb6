package org.evallearn.tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
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
    private static volatile boolean loaded;

    private Natives() {}

    public static void load() {
        if (loaded) return;
        synchronized (Natives.class) {
            if (loaded) return;
            String platform = Loader.getPlatform();
            try {
                for (String folder : new String[] {"/org/bytedeco/openblas/", "/org/bytedeco/pytorch/"}) {
                    Loader.cacheResources(Natives.class, folder + platform + extensionFor(folder));
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

    private static String extensionFor(String folder) {
        // The gpu jars of the presets keep their natives under <platform>-gpu.
        String ext = System.getProperty("org.bytedeco.javacpp.platform.extension", "");
        return folder.contains("pytorch") ? ext : "";
    }
}

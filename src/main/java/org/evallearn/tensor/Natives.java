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
            loaded = true;
        }
    }

    private static String extensionFor(String folder) {
        // The gpu jars of the presets keep their natives under <platform>-gpu.
        String ext = System.getProperty("org.bytedeco.javacpp.platform.extension", "");
        return folder.contains("pytorch") ? ext : "";
    }
}

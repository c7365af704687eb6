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
            // The gpu jar of the onnxruntime preset keeps its natives under <platform>-gpu.
            String gpu = System.getProperty("org.bytedeco.javacpp.platform.extension", "");
            try {
                Loader.cacheResources(OrtNatives.class, "/org/bytedeco/dnnl/" + platform);
                Loader.cacheResources(OrtNatives.class, "/org/bytedeco/opencl/" + platform);
                Loader.cacheResources(OrtNatives.class, "/org/bytedeco/onnxruntime/" + platform + gpu);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot extract the ONNX Runtime natives for " + platform, e);
            }
            Loader.load(org.bytedeco.onnxruntime.global.onnxruntime.class);
            loaded = true;
        }
    }
}

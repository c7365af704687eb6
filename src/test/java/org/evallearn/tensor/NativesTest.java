package org.evallearn.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.Test;

/** Which preset folders are extracted before libtorch loads, on CPU and GPU classpaths. */
class NativesTest {
    private static final String OPENBLAS = "/org/bytedeco/openblas/linux-x86_64/";
    private static final String TORCH_CPU = "/org/bytedeco/pytorch/linux-x86_64/";
    private static final String TORCH_GPU = "/org/bytedeco/pytorch/linux-x86_64-gpu/";
    private static final String CUDA = "/org/bytedeco/cuda/linux-x86_64/";

    @Test
    void aCpuClasspathExtractsTheCpuTorch() {
        Set<String> cpuJars = Set.of(OPENBLAS, TORCH_CPU);
        assertEquals(List.of(OPENBLAS, TORCH_CPU), Natives.folders("linux-x86_64", null, cpuJars::contains));
        // a property asking for -gpu cannot conjure the GPU jar: JavaCPP will load the CPU folder
        assertEquals(List.of(OPENBLAS, TORCH_CPU), Natives.folders("linux-x86_64", "-gpu", cpuJars::contains));
    }

    @Test
    void aGpuClasspathExtractsTheGpuTorchAndCudaWithoutAnyProperty() {
        // what `mvn -Pgpu package` puts in the jar: pytorch linux-x86_64-gpu and the CUDA redist
        Set<String> gpuJars = Set.of(OPENBLAS, TORCH_GPU, CUDA);
        assertEquals(List.of(OPENBLAS, CUDA, TORCH_GPU), Natives.folders("linux-x86_64", null, gpuJars::contains));
        assertEquals(List.of(OPENBLAS, CUDA, TORCH_GPU), Natives.folders("linux-x86_64", "-gpu", gpuJars::contains));
        assertEquals(List.of(OPENBLAS, TORCH_GPU), Natives.folders("linux-x86_64", null, Set.of(OPENBLAS, TORCH_GPU)::contains));
        // an explicit empty extension chooses the CPU build, as it does for JavaCPP
        assertEquals(List.of(OPENBLAS, TORCH_CPU), Natives.folders("linux-x86_64", "", Set.of(OPENBLAS, TORCH_CPU, TORCH_GPU)::contains));
    }

    @Test
    void theFoldersChosenForThisClasspathAreOnItAndIncludeATorch() {
        List<String> folders = Natives.folders(Loader.getPlatform(), System.getProperty(Natives.EXTENSION_PROPERTY),
                f -> Natives.class.getResource(f) != null);
        assertTrue(folders.stream().anyMatch(f -> f.startsWith("/org/bytedeco/pytorch/")), folders.toString());
        for (String folder : folders) assertNotNull(Natives.class.getResource(folder), folder);
    }
}

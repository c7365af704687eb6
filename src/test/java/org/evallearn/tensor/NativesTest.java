package org.evallearn.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    @TempDir Path tmp;

    /** A GPU torch folder shaped like the presets' linux-x86_64-gpu (readelf -d), with fabricated libraries. */
    private Path gpuTorch(Path cuda) {
        Path torch = tmp.resolve("pytorch/linux-x86_64-gpu");
        TestElf.write(torch.resolve("libtorch.so"), "libtorch.so", List.of("libtorch_cpu.so", "libtorch_cuda.so"), "$ORIGIN:/usr/local/cuda/lib");
        TestElf.write(torch.resolve("libtorch_cpu.so"), "libtorch_cpu.so", List.of("libc10.so", "libcupti.so.13", "libcudart.so.13", "libc.so.6"), "$ORIGIN");
        TestElf.write(torch.resolve("libc10.so"), "libc10.so", List.of("libc.so.6"), "$ORIGIN");
        TestElf.write(torch.resolve("libc10_cuda.so"), "libc10_cuda.so", List.of("libc10.so", "libcudart.so.13"), "$ORIGIN");
        TestElf.write(torch.resolve("libtorch_cuda.so"), "libtorch_cuda.so", List.of("libc10_cuda.so", "libcudart.so.13",
                "libcusparse.so.12", "libnccl.so.2", "libcublas.so.13", "libcublasLt.so.13", "libcudnn.so.9", "libtorch_cpu.so"), "$ORIGIN");
        TestElf.write(torch.resolve("libtorch_cuda_linalg.so"), "libtorch_cuda_linalg.so", List.of("libtorch_cuda.so", "libcusolver.so.12"), "$ORIGIN");
        for (String redist : List.of("libcudart.so.13", "libcupti.so.13")) TestElf.write(cuda.resolve(redist), redist, List.of(), "$ORIGIN");
        return torch;
    }

    @Test
    void nnpackIsOffSoNoCpuWarnsPerConvolutionAndAllRunTheSameKernels() {
        Natives.load();
        assertEquals(false, org.bytedeco.pytorch.global.torch.globalContext().userEnabledNNPACK());
    }

    @Test
    void aGpuFolderWithoutTheServersCudaLibrariesNamesEachAndWhatProvidesIt() {
        Path cuda = tmp.resolve("cuda/linux-x86_64"), system = tmp.resolve("usr/lib");
        Path torch = gpuTorch(cuda);
        TestElf.write(system.resolve("libcusparse.so.12"), "libcusparse.so.12", List.of(), null);
        TestElf.write(system.resolve("libcusolver.so.12"), "libcusolver.so.12", List.of(), null);
        Natives.Status s = Natives.checkCuda(new SharedLibraries(List.of(torch, cuda), List.of(system)), torch, "linux-x86_64-gpu");
        assertTrue(s.gpuBuild());
        assertFalse(s.cudaLoaded());
        assertEquals(List.of("libnccl.so.2", "libcublas.so.13", "libcublasLt.so.13", "libcudnn.so.9", "libcudnn_graph.so.9", "libcudnn_ops.so.9",
                "libcudnn_cnn.so.9", "libcudnn_adv.so.9", "libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9",
                "libcudnn_heuristic.so.9"), s.cudaPlan().missingSonames());
        for (String part : List.of("libcublas.so.13, libcublasLt.so.13 (from cuBLAS 13", "libnccl.so.2 (from NCCL 2 built for CUDA 13", "libcudnn.so.9, libcudnn_graph.so.9",
                "cuDNN 9 for CUDA 13")) {
            assertTrue(s.cudaProblem().contains(part), part + " in: " + s.cudaProblem());
        }
        // what the decision then is: CPU for auto and cpu, exit 2 (a DeviceException) naming the libraries for cuda
        assertEquals("cpu", Placement.choose("auto", false, s.cudaProblem()));
        assertEquals("cpu", Placement.choose(null, false, s.cudaProblem()));
        assertEquals("cpu", Placement.choose("cpu", false, s.cudaProblem()));
        DeviceException e = assertThrows(DeviceException.class, () -> Placement.choose("cuda", false, s.cudaProblem()));
        assertTrue(e.getMessage().startsWith("device 'cuda' was asked for") && e.getMessage().contains("libcublas.so.13")
                && e.getMessage().contains("set device to cpu or auto"), e.getMessage());
    }

    @Test
    void aGpuFolderWhoseCudaLibrariesAreAllFoundIsLoadedCudaPartIncluded() {
        Path cuda = tmp.resolve("cuda/linux-x86_64"), system = tmp.resolve("usr/local/cuda/lib64");
        Path torch = gpuTorch(cuda);
        for (String lib : List.of("libcusparse.so.12", "libnccl.so.2", "libcublas.so.13", "libcublasLt.so.13", "libcusolver.so.12", "libcudnn.so.9")) {
            TestElf.write(system.resolve(lib), lib, List.of(), null);
        }
        for (String engine : CudaLibraries.CUDNN_ENGINES.keySet()) TestElf.write(system.resolve(engine), engine, List.of(), null);
        Natives.Status s = Natives.checkCuda(new SharedLibraries(List.of(torch, cuda), List.of(system)), torch, "linux-x86_64-gpu");
        assertNull(s.cudaProblem());
        List<String> order = s.cudaPlan().order().stream().map(SharedLibraries.Found::soname).toList();
        assertTrue(order.indexOf("libcudart.so.13") < order.indexOf("libtorch_cpu.so") && order.indexOf("libcublas.so.13") < order.indexOf("libtorch_cuda.so")
                && order.indexOf("libtorch_cuda.so") < order.indexOf("libtorch.so"), order.toString());
        assertEquals("cuda", Placement.choose("auto", true, null));
        assertEquals("cuda:1", Placement.choose("cuda:1", true, null));
        assertEquals("cpu", Placement.choose("cpu", true, null), "cpu asked is cpu, CUDA or not");
    }

    @Test
    void javacppNamesOfSonames() {
        assertEquals("torch_cpu", Natives.javacppName("libtorch_cpu.so"));
        assertEquals("cudart@.13", Natives.javacppName("libcudart.so.13"));
        assertEquals("nvrtc-builtins@.13.1", Natives.javacppName("libnvrtc-builtins.so.13.1"));
        assertEquals("gomp@.1", Natives.javacppName("libgomp.so.1"));
    }

    @Test
    void thisProcessLoadedLibtorchFromItsOwnFolderOnly() throws java.io.IOException {
        Natives.Status s = Natives.status();
        Path folder = s.torchFolder().toRealPath();
        for (String name : List.of("c10", "torch_cpu")) {
            String file = Loader.getLoadedLibraries().get(name);
            assertNotNull(file, name);
            assertTrue(Path.of(file).startsWith(folder), name + " from " + file + ", not " + folder);
        }
        // what the process maps, whatever JavaCPP recorded: no libtorch or c10 from anywhere else (a system libtorch 1.13 included)
        for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/maps"))) {
            int slash = line.indexOf('/');
            if (slash < 0) continue;
            Path mapped = Path.of(line.substring(slash));
            String name = mapped.getFileName().toString();
            if (name.startsWith("libtorch") || name.startsWith("libc10")) assertTrue(mapped.startsWith(folder), line);
        }
        if (!s.cudaLoaded()) {
            for (String name : List.of("torch_cuda", "c10_cuda")) assertNull(Loader.getLoadedLibraries().get(name), name);
        }
    }
}

package org.evallearn.tensor;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.javacpp.Loader;

/**
 * Loads libtorch from the JavaCPP presets and nothing else.
 *
 * <p>JavaCPP loads each library a preset names from its cache, and when that fails it falls back
 * to {@code System.loadLibrary}, which searches {@code java.library.path} — on Debian that holds
 * {@code /usr/lib/x86_64-linux-gnu}, where {@code libtorch-dev} puts a {@code libtorch.so} of
 * libtorch 1.13, and the JVM dies with two libtorch versions in one process. The {@code -Pgpu}
 * jar's {@code libtorch.so} needs {@code libtorch_cuda.so}, which fails to load wherever CUDA's
 * libraries are missing, so that fallback was taken on every such machine. So this class:
 * <ol>
 *   <li>extracts each preset's whole native folder into the cache;
 *   <li>in the {@code -Pgpu} build, checks what the CUDA part needs ({@link SharedLibraries},
 *       reading each library's ELF {@code DT_NEEDED}) before loading any of it; when something
 *       is missing, or fails to load, it loads libtorch's CPU part only and says what is missing;
 *   <li>loads every libtorch library itself, by absolute path, dependencies first, so that no
 *       soname is left for the dynamic linker to look up elsewhere;
 *   <li>then tells JavaCPP, through {@link Loader#loadLibrary(Class, URL[], String, String...)}, which
 *       file stands for each library name its torch preset will ask for. JavaCPP records a name
 *       once loaded and returns that file whenever the name is asked for again, so it never
 *       loads another one or falls back; the names of a part not loaded (libtorch's CUDA part)
 *       it is told to skip ({@link #skip}).
 * </ol>
 *
 * <p>OpenBLAS runs single-threaded unless {@code OPENBLAS_NUM_THREADS} is set: see {@link #status}.
 */
public final class Natives {
    static final String EXTENSION_PROPERTY = "org.bytedeco.javacpp.platform.extension";
    static final String GPU_EXTENSION = "-gpu";

    /**
     * The names of the torch preset ({@code org.bytedeco.pytorch.presets.torch}) for the CUDA part
     * of libtorch. In a process without that part JavaCPP is told they were not found (see
     * {@link #skip}), so it neither loads nor looks for a {@code libtorch_cuda.so}.
     */
    private static final List<String> CUDA_PART = List.of("c10_cuda", "torch_cuda");

    /**
     * What loading found.
     *
     * @param platformFolder the preset folder libtorch came from: {@code linux-x86_64} or {@code linux-x86_64-gpu}
     * @param torchFolder where that folder was extracted
     * @param cudaPlan the CUDA part's libraries, found or missing; null in the CPU build
     * @param cudaProblem why CUDA cannot be used, null when the CUDA part loaded
     */
    public record Status(String platformFolder, Path torchFolder, SharedLibraries.Plan cudaPlan, String cudaProblem) {
        public boolean gpuBuild() {
            return cudaPlan != null;
        }

        /** Whether libtorch's CUDA part is loaded; a CUDA device may still be absent (see {@code torch.cuda_is_available}). */
        public boolean cudaLoaded() {
            return cudaProblem == null;
        }
    }

    private static volatile Status status;

    private Natives() {}

    public static void load() {
        status();
    }

    /** Loads libtorch once and says what was loaded from where. */
    public static Status status() {
        Status s = status;
        if (s != null) return s;
        synchronized (Natives.class) {
            if (status != null) return status;
            Status loaded = loadTorch();
            if (System.getenv("OPENBLAS_NUM_THREADS") == null) {
                // libtorch already splits work over its own OpenMP threads; OpenBLAS threads that
                // spin beside them oversubscribe the cores, and every parallel op then waits
                // milliseconds for a thread to be scheduled (tiny UNet step: 740 ms vs 30 ms on 2 cores).
                org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(1);
            }
            // NNPACK serves CPU convolutions only where it initialises (some x86 CPUs, not AMD EPYC here);
            // elsewhere libtorch warns on every convolution (324 lines in the quickstart). Off everywhere,
            // CPUs also stop differing in which convolution kernel they run.
            org.bytedeco.pytorch.global.torch.globalContext().setUserEnabledNNPACK(false);
            status = loaded;
            return loaded;
        }
    }

    private static Status loadTorch() {
        String platform = Loader.getPlatform();
        List<String> folders = folders(platform, System.getProperty(EXTENSION_PROPERTY), Natives::onClasspath);
        List<Path> dirs = new ArrayList<>();
        for (String folder : folders) dirs.addAll(extract(Natives.class, folder));
        String torchResource = folders.get(folders.size() - 1);
        String platformFolder = Path.of(torchResource).getFileName().toString();
        Path torchDir = extract(Natives.class, torchResource).get(0);
        // libtorch's own folder first: JavaCPP links libraries it loaded into its other cache folders
        SharedLibraries libraries = SharedLibraries.withSystemFolders(reversed(dirs));

        Status s = platformFolder.endsWith(GPU_EXTENSION) ? checkCuda(libraries, torchDir, platformFolder)
                : new Status(platformFolder, torchDir, null, "this is the CPU build of evallearn (build with mvn -Pgpu for CUDA)");
        if (s.gpuBuild() && s.cudaLoaded()) {
            try {
                loadInOrder(s.cudaPlan().order());
            } catch (UnsatisfiedLinkError e) {
                // found but unusable, e.g. a CUDA 13.0 library where 13.1 symbols are needed
                s = new Status(platformFolder, torchDir, s.cudaPlan(), "the CUDA libraries were found but one did not load: " + e.getMessage());
            }
        }
        if (!s.cudaLoaded()) loadCpuPart(libraries, torchDir, s.gpuBuild());
        if (s.gpuBuild() && !s.cudaLoaded()) {
            System.err.println("warning: this is the CUDA build of evallearn, but CUDA cannot be used: " + s.cudaProblem()
                    + ". libtorch runs on the CPU; a device of cuda is refused. `evallearn doctor` shows what was found where.");
        }
        Loader.load(org.bytedeco.pytorch.global.torch.class);
        return s;
    }

    /**
     * Whether the CUDA part of a GPU torch folder and everything it needs can be found, without
     * loading any of it. libtorch opens {@code libtorch_cuda_linalg.so} (cuSOLVER) and cuDNN its
     * engines at run time; both are checked with the rest.
     */
    static Status checkCuda(SharedLibraries libraries, Path torchDir, String platformFolder) {
        SharedLibraries.Plan plan = libraries.plan(
                List.of(torchDir.resolve("libtorch.so"), torchDir.resolve("libtorch_cuda_linalg.so")), CudaLibraries.CUDNN_ENGINES);
        String problem = plan.complete() ? null : "missing " + CudaLibraries.describe(plan.missing());
        return new Status(platformFolder, torchDir, plan, problem);
    }

    /**
     * Loads libtorch without its CUDA part. In the GPU build libtorch_cpu links only cudart and
     * CUPTI of CUDA, both bundled (cuda-redist), so this works on a machine with no CUDA at all.
     */
    private static void loadCpuPart(SharedLibraries libraries, Path torchDir, boolean gpuBuild) {
        Path torchCpu = torchDir.resolve("libtorch_cpu.so");
        // The CPU build's libtorch.so needs only libtorch_cpu.so; the GPU build's also needs libtorch_cuda.so.
        Path root = gpuBuild ? torchCpu : torchDir.resolve("libtorch.so");
        SharedLibraries.Plan plan = libraries.plan(List.of(root), Map.of());
        if (!plan.complete()) {
            throw new IllegalStateException("libtorch in " + torchDir + " needs " + plan.missing()
                    + ", which is neither in the jar nor on this system: the jar is incomplete");
        }
        try {
            loadInOrder(plan.order());
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalStateException("cannot load libtorch from " + torchDir + ": " + e.getMessage(), e);
        }
        // libtorch.so of the GPU build needs libtorch_cuda.so; without CUDA, libjnitorch.so needs only libtorch_cpu.so
        if (gpuBuild) skip("torch");
        for (String name : CUDA_PART) skip(name);
    }

    /**
     * Loads each library by absolute path, in order, and records it with JavaCPP under its
     * preset name. A name JavaCPP has already loaded is left alone: {@code libgomp.so.1} comes in
     * both the pytorch and the dnnl folders, and the process must hold one OpenMP runtime, not two.
     *
     * @throws UnsatisfiedLinkError naming the library that did not load (nothing is tried elsewhere)
     */
    public static void loadInOrder(List<SharedLibraries.Found> order) {
        for (SharedLibraries.Found f : order) {
            String name = javacppName(f.soname());
            if (Loader.getLoadedLibraries().containsKey(name)) continue;
            // System.load fails where a library cannot be loaded; Loader.loadLibrary would try the system next.
            System.load(f.file().toAbsolutePath().toString());
            pin(name, f.file());
        }
    }

    /**
     * Records {@code file}, already loaded, as what JavaCPP's library {@code name} is; JavaCPP
     * then loads nothing else under that name (see the class comment).
     */
    public static void pin(String name, Path file) {
        try {
            Loader.loadLibrary(Natives.class, new URL[] {file.toUri().toURL()}, name);
        } catch (MalformedURLException e) {
            throw new IllegalStateException(file + ": " + e.getMessage(), e);
        }
    }

    private static final Pattern SONAME = Pattern.compile("lib(.+?)\\.so(?:\\.(.+))?");

    /** JavaCPP's name for a soname: {@code libtorch_cpu.so} → {@code torch_cpu}, {@code libcudart.so.13} → {@code cudart@.13}. */
    static String javacppName(String soname) {
        Matcher m = SONAME.matcher(soname);
        if (!m.matches()) return soname;
        return m.group(2) == null ? m.group(1) : m.group(1) + "@." + m.group(2);
    }

    /**
     * Tells JavaCPP that library {@code name} was looked for and found nowhere, the state its own
     * failed search leaves: {@code Loader.load} then skips the name, neither loading it nor
     * falling back to {@code System.loadLibrary}. JavaCPP has no public call for this; its
     * package-private {@code Loader.foundLibraries} map (JavaCPP 1.5.13) is that state. Recording
     * such a name against another, loaded, library would work too, but JavaCPP then replaces the
     * cached file of that name with a symbolic link to it: the next run re-extracts 504 MB of
     * {@code libtorch_cuda.so}, and a run starting meanwhile reads the wrong library.
     */
    public static void skip(String name) {
        try {
            java.lang.reflect.Field field = Loader.class.getDeclaredField("foundLibraries");
            field.setAccessible(true);
            @SuppressWarnings("unchecked")
            Map<String, URL[]> found = (Map<String, URL[]>) field.get(null);
            synchronized (Loader.class) {
                found.put(name, new URL[0]);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot keep JavaCPP from loading " + name + " (its Loader.foundLibraries is gone: "
                    + "check Natives.skip against this JavaCPP version): " + e, e);
        }
    }

    /** The folders in reverse: the last extracted (the library's own) searched first. */
    public static List<Path> reversed(List<Path> dirs) {
        List<Path> r = new ArrayList<>(dirs);
        java.util.Collections.reverse(r);
        return r;
    }

    /**
     * Extracts a preset's whole native folder into JavaCPP's cache and returns where: one folder
     * from a shaded jar, one per jar on a plain classpath where several hold it (the cuda preset's
     * JNI jar and cuda-redist both have {@code org/bytedeco/cuda/linux-x86_64}).
     */
    public static List<Path> extract(Class<?> from, String folder) {
        try {
            List<Path> dirs = new ArrayList<>();
            for (File f : Loader.cacheResources(from, folder)) if (f.isDirectory()) dirs.add(f.toPath());
            if (dirs.isEmpty()) throw new IllegalStateException("the native folder " + folder + " is not on the classpath");
            return dirs;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the natives of " + folder, e);
        }
    }

    /**
     * The native folders to extract before torch loads, dependencies first, libtorch's last. The
     * presets' GPU jars keep libtorch under {@code <platform>-gpu}; JavaCPP prefers that folder
     * when it is on the classpath (unless {@value #EXTENSION_PROPERTY} says otherwise), so the
     * folder extracted here is the one present, not the one a property names: a {@code -Pgpu} jar
     * run without the property is guarded too. The CUDA preset's folder comes with it when present.
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

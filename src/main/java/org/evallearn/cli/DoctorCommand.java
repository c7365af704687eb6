package org.evallearn.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.detect.OrtNatives;
import org.evallearn.tensor.CudaLibraries;
import org.evallearn.tensor.DeviceException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SharedLibraries;
import picocli.CommandLine.Command;

/** What a run on this machine would load and where it would run: the first command on a new GPU server. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Show the native folders in use, the libtorch and CUDA versions, which CUDA, cuDNN and NCCL libraries "
                + "were found where (or are missing, and what provides them), and the device a run would use.")
final class DoctorCommand implements Callable<Integer> {
    /** The libraries each CUDA component of the summary covers, by soname prefix. */
    private static final Map<String, Predicate<String>> COMPONENTS = new LinkedHashMap<>();

    static {
        COMPONENTS.put("CUDA", s -> s.startsWith("libcu") && !s.startsWith("libcudnn") || s.startsWith("libnv"));
        COMPONENTS.put("cuDNN", s -> s.startsWith("libcudnn"));
        COMPONENTS.put("NCCL", s -> s.startsWith("libnccl"));
    }

    @Override
    public Integer call() {
        PrintStream out = System.out;
        Natives.Status natives = Natives.status();
        out.printf("platform folder  %s (%s)%n", natives.platformFolder(), natives.torchFolder());
        String build = natives.gpuBuild() ? "CUDA build for CUDA " + cudaPresetVersion() : "CPU build";
        out.printf("libtorch         %s, %s (JavaCPP %s)%n", presetVersion("pytorch"), build, version(null));
        if (natives.gpuBuild()) {
            SharedLibraries.Plan plan = natives.cudaPlan();
            for (Map.Entry<String, Predicate<String>> c : COMPONENTS.entrySet()) out.printf("%-16s %s%n", c.getKey(), component(plan, c.getValue()));
            out.println("CUDA libraries of libtorch (what the -Pgpu natives link, found where):");
            for (SharedLibraries.Found f : plan.order()) {
                if (isCuda(f.soname())) out.printf("  %-40s %-8s %s%n", f.soname(), f.bundled() ? "jar" : "system", f.file());
            }
            for (SharedLibraries.Missing m : plan.missing()) {
                out.printf("  %-40s MISSING  needed by %s; from %s%n", m.soname(), m.neededBy(), CudaLibraries.providedBy(m.soname()));
            }
        }
        boolean cudaDevice = natives.cudaLoaded() && torch.cuda_is_available();
        out.printf("libtorch CUDA    %s%n", natives.cudaLoaded() ? "loaded; CUDA devices: " + (cudaDevice ? torch.cuda_device_count() : 0)
                : "not loaded: " + natives.cudaProblem());
        OrtNatives.Status ort = OrtNatives.status();
        out.printf("ONNX Runtime     %s (%s), CUDA provider: %s%n", presetVersion("onnxruntime"), ort.folder(),
                ort.cudaProblem() == null ? "loaded" : "not usable: " + ort.cudaProblem());
        String device;
        try {
            Placement p = Placement.exactly(null, null);
            device = p.device() + " " + p.dtype() + (cudaDevice ? "" : natives.cudaLoaded() ? " (" + Placement.whyNoCuda(natives) + ")"
                    : " (libtorch's CUDA part is not loaded: see above)");
        } catch (DeviceException e) {
            device = "none: " + e.getMessage();
        }
        out.printf("a run uses       %s%n", device);
        return 0;
    }

    private static String component(SharedLibraries.Plan plan, Predicate<String> of) {
        List<String> missing = new ArrayList<>();
        for (SharedLibraries.Missing m : plan.missing()) if (of.test(m.soname()) && !missing.contains(m.soname())) missing.add(m.soname());
        if (!missing.isEmpty()) return "MISSING " + String.join(", ", missing);
        List<String> found = new ArrayList<>();
        for (SharedLibraries.Found f : plan.order()) if (of.test(f.soname())) found.add(f.file().getFileName().toString());
        return found.isEmpty() ? "not needed" : "found " + String.join(", ", found);
    }

    private static boolean isCuda(String soname) {
        return COMPONENTS.values().stream().anyMatch(p -> p.test(soname));
    }

    /** The version of a preset as Maven knows it: {@code 2.10.0-1.5.13} is libtorch 2.10.0 in JavaCPP 1.5.13. */
    private static String presetVersion(String artifact) {
        String v = version(artifact);
        return v == null ? artifact + " (version unknown)" : artifact + " " + v.replaceAll("-[0-9.]+$", "");
    }

    /** JavaCPP's own version (artifact null), or a preset's, from the jar's Maven metadata; null when absent. */
    private static String version(String artifact) {
        try {
            return artifact == null ? Loader.getVersion() : Loader.getVersion("org.bytedeco", artifact);
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /** {@code 13.1-9.19-1.5.13}: CUDA 13.1, cuDNN 9.19. */
    private static String cudaPresetVersion() {
        String v = version("cuda");
        if (v == null) return "13.1 (cuda preset version unknown)";
        String[] parts = v.split("-");
        return parts.length >= 2 ? parts[0] + ", cuDNN " + parts[1] : v;
    }
}

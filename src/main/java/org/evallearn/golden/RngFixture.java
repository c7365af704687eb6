package org.evallearn.golden;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.diffusion.Noise;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;

/**
 * {@code rng/}: torch's CPU generator must give the reference's initial latents bit for bit under
 * the vectorised kernels (AVX2, AVX-512) that made them. Under the scalar ones
 * ({@code ATEN_CPU_CAPABILITY=default}, or a CPU without AVX2) libtorch draws its normals with
 * another kernel, as PyTorch itself does there, and values differ by up to 1.8e-6
 * (golden/README.md): the match is then to {@value #SCALAR_KERNEL_TOLERANCE}.
 */
final class RngFixture implements Fixture {
    private static final Pattern NAME = Pattern.compile("randn_(\\d+(?:x\\d+)*)_seed(\\d+)");

    static final double SCALAR_KERNEL_TOLERANCE = 2e-6;

    private static boolean scalarKernels() {
        org.evallearn.tensor.Natives.load();
        return org.bytedeco.pytorch.global.torch.get_cpu_capability().getString().equals("DEFAULT");
    }

    @Override
    public boolean accepts(String folderName) {
        return folderName.equals("rng");
    }

    @Override
    public List<Check> run(Path folder) {
        List<Check> checks = new ArrayList<>();
        double tolerance = scalarKernels() ? SCALAR_KERNEL_TOLERANCE : 0;
        try (Scope s = Scope.open(); SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"))) {
            for (String key : io.infos().keySet()) {
                Matcher m = NAME.matcher(key);
                if (!m.matches()) continue;
                String[] dims = m.group(1).split("x");
                long[] shape = new long[dims.length];
                for (int i = 0; i < dims.length; i++) shape[i] = Long.parseLong(dims[i]);
                Tensor actual = Noise.initialLatents(Long.parseLong(m.group(2)), shape);
                checks.add(Check.of("rng", key, TensorCompare.compare(actual, io.get(key), tolerance, 0)));
            }
        }
        if (checks.isEmpty()) throw new IllegalArgumentException(folder + "/io.safetensors: no randn_<shape>_seed<S> tensors");
        return checks;
    }
}

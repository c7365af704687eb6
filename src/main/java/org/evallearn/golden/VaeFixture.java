package org.evallearn.golden;

import java.nio.file.Path;
import java.util.List;
import org.evallearn.diffusion.AutoencoderKL;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;

/** {@code vae-*}: raw decoder output, and the encoder's posterior mean and log-variance. */
final class VaeFixture implements Fixture {
    @Override
    public boolean accepts(String folderName) {
        return folderName.startsWith("vae-");
    }

    @Override
    public List<Check> run(Path folder) {
        String name = folder.getFileName().toString();
        try (Scope s = Scope.open();
                SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"));
                AutoencoderKL vae = AutoencoderKL.load(folder, null, Placement.CPU_F32)) {
            var decoded = vae.decode(io.get("latents"));
            var posterior = vae.encode(io.get("image"));
            return List.of(
                    Check.of(name, "decoded", TensorCompare.compare(decoded, io.get("decoded"), ATOL, RTOL)),
                    Check.of(name, "posterior_mean", TensorCompare.compare(posterior.mean(), io.get("posterior_mean"), ATOL, RTOL)),
                    Check.of(name, "posterior_logvar", TensorCompare.compare(posterior.logvar(), io.get("posterior_logvar"), ATOL, RTOL)));
        }
    }
}

package org.evallearn.golden;

import java.nio.file.Path;
import java.util.List;
import org.evallearn.diffusion.UNet2DConditionModel;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;

/** {@code unet-*}: one UNet forward from the folder's own config and weights. */
final class UnetFixture implements Fixture {
    @Override
    public boolean accepts(String folderName) {
        return folderName.startsWith("unet-");
    }

    @Override
    public List<Check> run(Path folder) {
        String name = folder.getFileName().toString();
        try (Scope s = Scope.open();
                SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"));
                UNet2DConditionModel unet = UNet2DConditionModel.load(folder, null, Placement.CPU_F32)) {
            var out = unet.forward(io.get("sample"), io.get("timestep"), io.get("encoder_hidden_states"));
            return List.of(Check.of(name, "out", TensorCompare.compare(out, io.get("out"), ATOL, RTOL)));
        }
    }
}

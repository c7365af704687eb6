package org.evallearn.golden;

import java.nio.file.Path;
import java.util.List;
import org.evallearn.imagecls.ViTForImageClassification;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;

/** {@code imagecls-*}: transformers' {@code ViTForImageClassification} on pixel values; the final LayerNorm's output and the logits. */
final class ImageClassifierFixture implements Fixture {
    @Override
    public boolean accepts(String folderName) {
        return folderName.startsWith("imagecls-");
    }

    @Override
    public List<Check> run(Path folder) {
        String name = folder.getFileName().toString();
        try (Scope s = Scope.open();
                SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"));
                ViTForImageClassification model = ViTForImageClassification.load(folder, Placement.CPU_F32)) {
            ViTForImageClassification.Output out = model.forward(io.get("pixel_values"));
            return List.of(
                    Check.of(name, "last_hidden_state", TensorCompare.compare(out.lastHiddenState(), io.get("last_hidden_state"), ATOL, RTOL)),
                    Check.of(name, "logits", TensorCompare.compare(out.logits(), io.get("logits"), ATOL, RTOL)));
        }
    }
}

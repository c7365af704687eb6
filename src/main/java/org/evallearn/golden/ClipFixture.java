package org.evallearn.golden;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipModel;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;

/** {@code clip-*}: a CLIPModel's text and vision towers and its image-text logits (first three prompts). */
final class ClipFixture implements Fixture {
    @Override
    public boolean accepts(String folderName) {
        return folderName.startsWith("clip-") && !folderName.equals("clip-preprocess");
    }

    @Override
    public List<Check> run(Path folder) {
        String name = folder.getFileName().toString();
        try (Scope s = Scope.open();
                SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"));
                ClipModel model = ClipModel.load(folder, Placement.CPU_F32)) {
            Tensor ids = io.get("input_ids");
            Tensor pixels = io.get("pixel_values");
            ClipTextModel.Output text = model.encodeText(ids);
            long images = pixels.size(0);
            return List.of(
                    check(name, "last_hidden_state", text.lastHiddenState(), io),
                    check(name, "pooled_output", text.pooledOutput(), io),
                    check(name, "text_embeds", text.textEmbeds(), io),
                    check(name, "image_embeds", model.encodeImage(pixels).imageEmbeds(), io),
                    Check.of(name, "logits_per_image", TensorCompare.compare(
                            model.logitsPerImage(pixels, ids.narrow(0, 0, images)), io.get("logits_per_image"), ATOL, RTOL)));
        }
    }

    private static Check check(String fixture, String output, Tensor actual, SafeTensorsFile io) {
        return Check.of(fixture, output, TensorCompare.compare(actual, io.get(output), ATOL, RTOL));
    }
}

package org.evallearn.golden;

import java.nio.file.Path;
import java.util.List;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.image.ImageDecoder;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;

/**
 * {@code clip-preprocess}: decode, resize, crop and normalise {@code input.png} as CLIP does. The
 * README allows 0.02 per element for other resampling filters; ours is PIL's, so far closer.
 */
final class ClipPreprocessFixture implements Fixture {
    static final double ATOL_PIXELS = 0.02;

    @Override
    public boolean accepts(String folderName) {
        return folderName.equals("clip-preprocess");
    }

    @Override
    public List<Check> run(Path folder) {
        String name = folder.getFileName().toString();
        try (Scope s = Scope.open(); SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"))) {
            var expected = io.get("pixel_values");
            // The crop side is the expected tensor's ([3, S, S]): 224 for ViT-L/14, 336 for its -336 variant.
            int size = (int) expected.size(-1);
            var actual = ClipPreprocess.pixelValues(List.of(ImageDecoder.read(folder.resolve("input.png"))), size, "cpu").select(0, 0);
            return List.of(Check.of(name, "pixel_values", TensorCompare.compare(actual, expected, ATOL_PIXELS, 0)));
        }
    }
}

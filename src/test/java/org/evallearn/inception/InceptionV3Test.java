package org.evallearn.inception;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.diffusion.Noise;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.junit.jupiter.api.Test;

/**
 * Conformance with torchvision 0.14's {@code Inception3}: the weights are made here from a seed
 * (written to {@code target/inception-random/model.safetensors} on every run), the inputs are
 * {@code torch.randn} from a seed (the same values in PyTorch), and {@code expected.safetensors}
 * holds what torchvision computed from exactly those weights and inputs
 * ({@code tools/reference/inception_fixture.py}), with its state-dict key list.
 */
class InceptionV3Test {
    static final long WEIGHT_SEED = 2048, INPUT_SEED = 299;
    static final Path WEIGHTS = Path.of("target", "inception-random");

    @Test
    void poolFeaturesMatchTorchvisionAndTheKeysAreItsStateDict() throws Exception {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            RandomBinder weights = new RandomBinder(WEIGHT_SEED, Placement.CPU_F32);
            List<String> ours;
            try (InceptionV3 random = InceptionV3.random(weights)) {
                Files.createDirectories(WEIGHTS);
                SafeTensorsWriter.write(WEIGHTS.resolve("model.safetensors"), weights.tensors());
                ours = new ArrayList<>(weights.tensors().keySet());
            }
            Path expectedFile = Path.of(InceptionV3Test.class.getResource("expected.safetensors").toURI());
            try (SafeTensorsFile expected = SafeTensorsFile.open(expectedFile); InceptionV3 model = InceptionV3.load(WEIGHTS, Placement.CPU_F32)) {
                TreeSet<String> torchvision = new TreeSet<>(List.of(expected.metadata().get("state_dict_keys").split("\n")));
                TreeSet<String> bound = new TreeSet<>(ours);
                torchvision.removeIf(k -> k.endsWith(".num_batches_tracked"));
                assertEquals(torchvision, bound, "every torchvision key but the BatchNorm step counters, and nothing else");
                Tensor x = Noise.randn(Noise.generator(INPUT_SEED), 2, 3, 299, 299);
                Tensor features = model.poolFeatures(x);
                Tensor reference = expected.get("pool_features");
                double scale = reference.abs().max().item_double();
                assertTrue(scale > 1e-3, "features of a usable scale: " + scale);
                // Error budget: ~17 to 47 float32 layers deep, each conv summing up to 2048·9 products:
                // a few hundred ulps of the output scale at most, so 1e-4 of it separates rounding from wiring.
                TensorCompare.Result r = TensorCompare.compare(features, reference, 1e-4 * scale, 1e-3);
                System.out.printf("inception-v3 pool_features max|err| %.3e at scale %.3e%n", r.maxAbsError(), scale);
                assertTrue(r.pass(), "max |err| " + r.maxAbsError() + " at scale " + scale);
            }
        }
    }
}

package org.evallearn.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Building a model on a folder's weights: precision fallback, and what a failed build leaves behind. */
class ModelLoaderTest {
    @TempDir Path dir;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    /** Asks for {@code a} [3] and {@code b} [2]; fails after {@code a} when told to, as a layer with a bad config does. */
    static final class Probe extends Model {
        final Tensor a;
        final Tensor b;

        Probe(Params p, List<Tensor> seen, boolean failAfterA) {
            a = p.get("a", Init.ZEROS, 3);
            seen.add(a);
            if (failAfterA) throw new IllegalArgumentException("8 channels do not split into 3 heads");
            b = p.get("b", Init.ZEROS, 2);
        }
    }

    private void writeFp16Only() {
        try (Scope s = Scope.open()) {
            SafeTensorsWriter.write(dir.resolve("diffusion_pytorch_model.fp16.safetensors"), Map.of(
                    "a", Tensor.create(new float[] {0.1f, 1f / 3, 65504f}, 3).to(torch.ScalarType.Half),
                    "b", Tensor.create(new float[] {-2.5f, 7f}, 2).to(torch.ScalarType.Half)));
        }
    }

    @Test
    void fp16OnlyWeightsLoadUpcastToFp32() {
        writeFp16Only();
        try (Scope s = Scope.open();
                Probe m = ModelLoader.load(dir, "diffusion_pytorch_model", null, Placement.CPU_F32, k -> List.of(), k -> false,
                        "Probe", p -> new Probe(p, new ArrayList<>(), false))) {
            assertEquals(torch.ScalarType.Float, m.a.scalar_type().intern());
            // exactly the fp16 values, widened: 1/3 is not 1/3f but its nearest half
            assertEquals((double) Tensor.create(new float[] {1f / 3}).to(torch.ScalarType.Half).to(torch.ScalarType.Float).item_float(),
                    m.a.select(0, 1).item_float(), 0.0);
            assertEquals(65504f, m.a.select(0, 2).item_float());
            assertEquals(-2.5f, m.b.select(0, 0).item_float());
        }
    }

    @Test
    void aFailedBuildFreesWhatItBoundAndNamesTheConfig() {
        writeFp16Only();
        List<Tensor> seen = new ArrayList<>();
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelLoader.load(dir, "diffusion_pytorch_model", null,
                Placement.CPU_F32, k -> List.of(), k -> false, "Probe", p -> new Probe(p, seen, true)));
        assertTrue(e.getMessage().contains(dir.resolve("config.json").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("8 channels do not split into 3 heads"), e.getMessage());
        assertEquals(1, seen.size());
        assertTrue(seen.get(0).isNull(), "the weight bound before the failure is freed, not left to the GC");
    }
}

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

    /** Loads the Probe from {@code dir} in {@code placement} and returns what it printed on stderr. */
    private String loadCapturingStderr(Placement placement) {
        java.io.PrintStream saved = System.err;
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        try (Probe m = ModelLoader.load(dir, "diffusion_pytorch_model", null, placement, k -> List.of(), k -> false,
                "Probe", p -> new Probe(p, new ArrayList<>(), false))) {
            assertEquals(3, m.a.numel(), "a model with non-finite weights still loads: it is warned about, not refused");
        } finally {
            System.setErr(saved);
        }
        return err.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void weightsHoldingNanOrInfAreWarnedAboutByTensorName() {
        try (Scope s = Scope.open()) {
            SafeTensorsWriter.write(dir.resolve("diffusion_pytorch_model.safetensors"), Map.of(
                    "a", Tensor.create(new float[] {0.5f, Float.NaN, Float.NaN}, 3),
                    "b", Tensor.create(new float[] {Float.NEGATIVE_INFINITY, 7f}, 2)));
        }
        String err = loadCapturingStderr(Placement.CPU_F32);
        assertTrue(err.startsWith("warning: " + dir.resolve("diffusion_pytorch_model.safetensors") + ": 2 tensors of Probe hold non-finite values"), err);
        assertTrue(err.contains("a (2 NaN and 0 Inf of 3 values)"), err);
        assertTrue(err.contains("b (0 NaN and 1 Inf of 2 values)"), err);
        assertEquals(1, err.lines().count(), "one warning per model: " + err);
    }

    @Test
    void finiteFp32WeightsThatOverflowFp16AreWarnedAboutAsSuch() {
        try (Scope s = Scope.open()) {
            // 1e5 is beyond fp16's largest finite value, 65504; 3e38 sums past fp32's range but is finite.
            SafeTensorsWriter.write(dir.resolve("diffusion_pytorch_model.safetensors"), Map.of(
                    "a", Tensor.create(new float[] {3e38f, 3e38f, 1f}, 3),
                    "b", Tensor.create(new float[] {1e5f, 7f}, 2)));
        }
        assertEquals("", loadCapturingStderr(Placement.CPU_F32), "finite fp32 weights get no warning, however large");
        String err = loadCapturingStderr(new Placement("cpu", DType.F16));
        assertTrue(err.contains("b (0 NaN and 1 Inf of 2 values after conversion from the file's F32 to F16, whose range it exceeds)"), err);
        assertTrue(err.contains("a (0 NaN and 2 Inf of 3 values after conversion"), err);
    }
}

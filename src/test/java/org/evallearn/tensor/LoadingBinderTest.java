package org.evallearn.tensor;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoadingBinderTest {
    @TempDir Path dir;

    @BeforeAll
    static void load() {
        Natives.load();
    }

    private WeightFiles file(Map<String, Tensor> tensors) {
        Path p = dir.resolve("w.safetensors");
        SafeTensorsWriter.write(p, tensors);
        return WeightFiles.open(List.of(p));
    }

    private static Tensor conv1x1() {
        return Tensor.create(new float[] {1, 2, 3, 4}, 2, 2, 1, 1);
    }

    @Test
    void legacyNameMayDropTrailingOneByOneDims() {
        try (Scope s = Scope.open(); WeightFiles f = file(Map.of("old.q.weight", conv1x1()))) {
            LoadingBinder b = new LoadingBinder(f, Placement.CPU_F32, k -> List.of("old.q.weight"));
            Tensor w = b.bind("new.to_q.weight", Init.FAN_IN, new long[] {2, 2});
            try (Weights weights = b.finish("m", k -> false)) {
                assertArrayEquals(new long[] {2, 2}, w.shape());
                assertEquals(3f, w.select(0, 1).select(0, 0).item_float());
            }
        }
    }

    @Test
    void keyUnderItsOwnNameMustMatchExactly() {
        try (Scope s = Scope.open(); WeightFiles f = file(Map.of("to_q.weight", conv1x1()))) {
            LoadingBinder b = new LoadingBinder(f, Placement.CPU_F32);
            b.bind("to_q.weight", Init.FAN_IN, new long[] {2, 2});
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> b.finish("m", k -> false));
            assertTrue(e.getMessage().contains("to_q.weight: file has [2, 2, 1, 1], model expects [2, 2]"), e.getMessage());
        }
    }

    @Test
    void legacyNameWithOtherShapeOfSameSizeIsMisshaped() {
        try (Scope s = Scope.open(); WeightFiles f = file(Map.of("old", Tensor.create(new float[] {1, 2, 3, 4}, 4, 1)))) {
            LoadingBinder b = new LoadingBinder(f, Placement.CPU_F32, k -> List.of("old"));
            b.bind("new", Init.FAN_IN, new long[] {2, 2});
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> b.finish("m", k -> false));
            assertTrue(e.getMessage().contains("old (for new): file has [4, 1], model expects [2, 2]"), e.getMessage());
        }
    }

    @Test
    void missingKeyNamesTheLegacyNamesTried() {
        try (Scope s = Scope.open(); WeightFiles f = file(Map.of("x", conv1x1()))) {
            LoadingBinder b = new LoadingBinder(f, Placement.CPU_F32, k -> List.of("a." + k, "b." + k));
            b.bind("w", Init.FAN_IN, new long[] {2});
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> b.finish("m", k -> k.equals("x")));
            assertTrue(e.getMessage().contains("w [2] (also tried a.w, b.w)"), e.getMessage());
        }
    }
}

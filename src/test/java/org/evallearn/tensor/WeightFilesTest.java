package org.evallearn.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a model folder's weight files are found: variants, shards, and the refusal of pickles. */
class WeightFilesTest {
    @TempDir Path dir;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    private void write(String name, String key, double value) {
        try (Scope s = Scope.open()) {
            SafeTensorsWriter.write(dir.resolve(name), Map.of(key, torch.full(new long[] {2}, new Scalar(value))));
        }
    }

    private float first(WeightFiles files, String key) {
        try (Scope s = Scope.open()) {
            return files.get(key).select(0, 0).item_float();
        }
    }

    @Test
    void theVariantIsPreferredAndThePlainFileIsTheFallback() {
        write("diffusion_pytorch_model.safetensors", "w", 1);
        write("diffusion_pytorch_model.fp16.safetensors", "w", 2);
        try (WeightFiles f = WeightFiles.openIn(dir, "diffusion_pytorch_model", "fp16")) {
            assertEquals(2f, first(f, "w"));
        }
        try (WeightFiles f = WeightFiles.openIn(dir, "diffusion_pytorch_model", null)) {
            assertEquals(1f, first(f, "w"));
        }
        try (WeightFiles f = WeightFiles.openIn(dir, "diffusion_pytorch_model", "bf16")) {
            assertEquals(1f, first(f, "w"));
        }
    }

    @Test
    void aFolderWithOnlyOnePrecisionLoadsForTheOther() {
        // `models pull ID --variant fp16` leaves only the .fp16 files; a plain fp32 pull leaves no variant
        write("diffusion_pytorch_model.fp16.safetensors", "w", 2);
        try (WeightFiles f = WeightFiles.openIn(dir, "diffusion_pytorch_model", null)) {
            assertEquals(2f, first(f, "w"));
        }
        write("model.safetensors", "w", 1);
        try (WeightFiles f = WeightFiles.openIn(dir, "model", "fp16")) {
            assertEquals(1f, first(f, "w"));
        }
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> WeightFiles.openIn(dir, "other", null));
        assertTrue(e.getMessage().contains("no other.safetensors, other.fp16.safetensors"), e.getMessage());
    }

    @Test
    void shardsOfAnIndexFormOneKeySpace() throws IOException {
        write("model-00001-of-00002.safetensors", "a", 3);
        write("model-00002-of-00002.safetensors", "b", 4);
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"metadata\": {}, \"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\", \"b\": \"model-00002-of-00002.safetensors\"}}");
        try (WeightFiles f = WeightFiles.openIn(dir, "model", null)) {
            assertEquals(java.util.Set.of("a", "b"), f.keys());
            assertEquals(3f, first(f, "a"));
            assertEquals(4f, first(f, "b"));
        }
    }

    @Test
    void aPickleAloneIsRefusedByName() throws IOException {
        Files.write(dir.resolve("diffusion_pytorch_model.bin"), new byte[] {(byte) 0x80, 2});
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> WeightFiles.openIn(dir, "diffusion_pytorch_model", null));
        assertTrue(e.getMessage().contains("diffusion_pytorch_model.bin") || e.getMessage().contains("pickle"), e.getMessage());
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    }
}

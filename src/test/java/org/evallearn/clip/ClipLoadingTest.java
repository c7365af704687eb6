package org.evallearn.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.evallearn.tensor.TensorInfo;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Folder layouts, strictness of loading and config validation for the CLIP models. */
class ClipLoadingTest {
    /** A tiny text tower; eos 999 is the largest id of its vocabulary, as 49407 is in CLIP's. */
    private static final ClipTextConfig TINY_TEXT = new ClipTextConfig(1000, 32, 64, 16, 2, 4, 77, "quick_gelu", 1e-5, 999);

    @TempDir Path dir;

    @BeforeAll
    static void load() {
        Natives.load();
    }

    /** Two prompts as Stable Diffusion pads them: BOS, ids, EOS, then EOS to the end. */
    private static Tensor ids(int eos, int length) {
        long[] data = new long[2 * length];
        Arrays.fill(data, eos);
        long[][] prompts = {{998, 5, 6, 7}, {998, 42}};
        for (int r = 0; r < 2; r++) System.arraycopy(prompts[r], 0, data, r * length, prompts[r].length);
        return Tensor.create(data, 2, length);
    }

    private static void writeConfig(Path folder, ObjectNode config) throws IOException {
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("config.json"), config.toPrettyString());
    }

    @Test
    void textEncoderFolderRoundTrips() throws IOException {
        for (boolean withProjection : new boolean[] {false, true}) {
            Path folder = dir.resolve("text_encoder_" + withProjection);
            try (InferenceMode guard = new InferenceMode();
                    Scope s = Scope.open()) {
                RandomBinder binder = new RandomBinder(7, Placement.CPU_F32);
                try (ClipTextModel made = ClipTextModel.random(TINY_TEXT, withProjection, binder)) {
                    Map<String, Tensor> state = new LinkedHashMap<>(binder.tensors());
                    // Stable Diffusion's text_encoder files carry this buffer; it must be accepted.
                    state.put("text_model.embeddings.position_ids", torch.arange(new Scalar(77)).view(1, 77));
                    SafeTensorsWriter.write(folder.resolve("model.safetensors"), state);
                    writeConfig(folder, made.configJson());
                    try (ClipTextModel loaded = ClipTextModel.load(folder, Placement.CPU_F32)) {
                        assertEquals(TINY_TEXT, loaded.config());
                        assertEquals(withProjection, loaded.hasProjection());
                        ClipTextModel.Output want = made.forward(ids(999, 77));
                        ClipTextModel.Output got = loaded.forward(ids(999, 77));
                        assertTrue(TensorCompare.exact(got.lastHiddenState(), want.lastHiddenState()).pass());
                        assertTrue(TensorCompare.exact(got.pooledOutput(), want.pooledOutput()).pass());
                        if (withProjection) {
                            assertArrayEquals(new long[] {2, 16}, got.textEmbeds().shape());
                            assertTrue(TensorCompare.exact(got.textEmbeds(), want.textEmbeds()).pass());
                        } else {
                            assertNull(got.textEmbeds());
                        }
                    }
                }
            }
        }
    }

    @Test
    void imageEncoderFolderWithoutArchitecturesHasProjection() throws IOException {
        ClipVisionConfig tiny = new ClipVisionConfig(32, 64, 16, 2, 4, 3, 16, 8, "gelu", 1e-5);
        try (InferenceMode guard = new InferenceMode();
                Scope s = Scope.open()) {
            RandomBinder binder = new RandomBinder(5, Placement.CPU_F32);
            try (ClipVisionModel made = ClipVisionModel.random(tiny, true, binder)) {
                SafeTensorsWriter.write(dir.resolve("model.safetensors"), binder.tensors());
                writeConfig(dir, tiny.toJson());
                try (ClipVisionModel loaded = ClipVisionModel.load(dir, Placement.CPU_F32)) {
                    assertTrue(loaded.hasProjection());
                    Tensor pixels = torch.randn(2, 3, 16, 16);
                    ClipVisionModel.Output got = loaded.forward(pixels);
                    assertArrayEquals(new long[] {2, 5, 32}, got.lastHiddenState().shape());
                    assertTrue(TensorCompare.exact(got.imageEmbeds(), made.forward(pixels).imageEmbeds()).pass());
                    assertThrows(IllegalArgumentException.class, () -> loaded.forward(torch.randn(2, 3, 32, 32)));
                }
            }
        }
    }

    @Test
    void pooledOutputIsTheFirstEos() {
        try (InferenceMode guard = new InferenceMode();
                ClipTextModel m = ClipTextModel.random(TINY_TEXT, false, new RandomBinder(3, Placement.CPU_F32));
                Scope s = Scope.open()) {
            ClipTextModel.Output out = m.forward(ids(999, 10));
            // Row 0: BOS + 3 ids, so the first EOS is at 4; row 1: BOS + 1 id, EOS at 2.
            assertTrue(TensorCompare.exact(out.pooledOutput().select(0, 0), out.lastHiddenState().select(0, 0).select(0, 4)).pass());
            assertTrue(TensorCompare.exact(out.pooledOutput().select(0, 1), out.lastHiddenState().select(0, 1).select(0, 2)).pass());
        }
    }

    @Test
    void legacyEosIdPoolsAtTheLargestId() {
        // Pre-#24773 configs (SD 1.x text encoders) say eos_token_id 2; pooling is then argmax(ids).
        ClipTextConfig legacy = new ClipTextConfig(1000, 32, 64, 16, 2, 4, 77, "quick_gelu", 1e-5, 2);
        try (InferenceMode guard = new InferenceMode();
                ClipTextModel m = ClipTextModel.random(legacy, false, new RandomBinder(3, Placement.CPU_F32));
                Scope s = Scope.open()) {
            ClipTextModel.Output out = m.forward(ids(999, 10));
            assertTrue(TensorCompare.exact(out.pooledOutput().select(0, 1), out.lastHiddenState().select(0, 1).select(0, 2)).pass());
        }
    }

    @Test
    void rowWithoutEosIsRefused() {
        try (InferenceMode guard = new InferenceMode();
                ClipTextModel m = ClipTextModel.random(TINY_TEXT, false, new RandomBinder(3, Placement.CPU_F32));
                Scope s = Scope.open()) {
            Tensor noEos = Tensor.create(new long[] {998, 5, 6, 7}, 1, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.forward(noEos));
            assertTrue(e.getMessage().contains("eos_token_id 999"), e.getMessage());
        }
    }

    @Test
    void missingLayerKeyFailsNamingIt() throws IOException {
        String dropped = "text_model.encoder.layers.1.mlp.fc2.weight";
        try (Scope s = Scope.open()) {
            RandomBinder binder = new RandomBinder(7, Placement.CPU_F32);
            try (ClipTextModel made = ClipTextModel.random(TINY_TEXT, false, binder)) {
                Map<String, Tensor> state = new LinkedHashMap<>(binder.tensors());
                assertNotNull(state.remove(dropped));
                SafeTensorsWriter.write(dir.resolve("model.safetensors"), state);
                writeConfig(dir, made.configJson());
            }
        }
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ClipTextModel.load(dir, Placement.CPU_F32));
        assertTrue(e.getMessage().contains("missing keys") && e.getMessage().contains(dropped), e.getMessage());
    }

    @Test
    void unsupportedActivationFailsNamingTheField() throws IOException {
        ObjectNode text = TINY_TEXT.toJson();
        text.put("hidden_act", "relu6");
        writeConfig(dir, text);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ClipTextModel.load(dir, Placement.CPU_F32));
        assertTrue(e.getMessage().contains("'hidden_act'") && e.getMessage().contains("relu6"), e.getMessage());

        ObjectNode clip = ClipConfig.from(ConfigFile.read(Shared.golden("clip-tiny").resolve("config.json"))).toJson();
        ((ObjectNode) clip.get("vision_config")).put("hidden_act", "relu6");
        writeConfig(dir, clip);
        e = assertThrows(ModelLoadException.class, () -> ClipModel.load(dir, Placement.CPU_F32));
        assertTrue(e.getMessage().contains("[vision_config]") && e.getMessage().contains("'hidden_act'"), e.getMessage());
    }

    @Test
    void unknownArchitectureIsRefused() throws IOException {
        ObjectNode text = TINY_TEXT.toJson();
        text.putArray("architectures").add("T5EncoderModel");
        writeConfig(dir, text);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ClipTextModel.load(dir, Placement.CPU_F32));
        assertTrue(e.getMessage().contains("'architectures'") && e.getMessage().contains("T5EncoderModel"), e.getMessage());
    }

    /**
     * A random CLIPModel has exactly the golden file's parameters, shapes included. The golden
     * file (older transformers) also saved the two position_ids buffers, which are arange and
     * not parameters here; they must be the only difference.
     */
    @Test
    void randomModelHasTheGoldenKeys() {
        Path golden = Shared.golden("clip-tiny");
        ClipConfig config = ClipConfig.from(ConfigFile.read(golden.resolve("config.json")));
        Map<String, String> want = new TreeMap<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(golden.resolve("model.safetensors"))) {
            for (TensorInfo i : f.infos().values()) want.put(i.name(), Arrays.toString(i.shape()));
        }
        Map<String, String> got = new TreeMap<>();
        RandomBinder binder = new RandomBinder(1, Placement.CPU_F32);
        try (ClipModel m = ClipModel.random(config, binder)) {
            binder.tensors().forEach((k, t) -> got.put(k, Arrays.toString(t.shape())));
            assertEquals(config.logitScaleInitValue(), m.logitScale().item_double(), 1e-6);
        }
        TreeSet<String> buffers = new TreeSet<>(want.keySet());
        buffers.removeAll(got.keySet());
        assertEquals(new TreeSet<>(List.of("text_model.embeddings.position_ids", "vision_model.embeddings.position_ids")),
                buffers);
        buffers.forEach(want::remove);
        assertEquals(want, got);
        assertFalse(got.isEmpty());
    }
}

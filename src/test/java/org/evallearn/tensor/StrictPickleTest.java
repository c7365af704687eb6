package org.evallearn.tensor;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.Test;

class StrictPickleTest {
    /** Builds pickle bytes opcode by opcode, as pickletools would list them. */
    static final class Bytes {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Bytes op(int... bytes) {
            for (int b : bytes) out.write(b);
            return this;
        }

        Bytes text(String s) {
            out.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Bytes shortUnicode(String s) {
            return op(0x8c, s.length()).text(s);
        }

        Bytes unicode(String s) {
            return op('X', s.length(), 0, 0, 0).text(s);
        }

        Bytes global(String module, String name) {
            return op('c').text(module + "\n" + name + "\n");
        }

        byte[] get() {
            return out.toByteArray();
        }
    }

    private static PickleException refused(byte[] pickle, StrictPickle.Flavor flavor) {
        return assertThrows(PickleException.class, () -> StrictPickle.parse("evil.pkl", pickle, flavor));
    }

    @Test
    void refusesOsSystemNamingGlobalAndOffset() {
        // pickle.dumps of a __reduce__ returning (os.system, ("echo pwned",)), protocol 2
        byte[] p = new Bytes().op(0x80, 2).op('c').text("os\nsystem\n").shortUnicode("echo pwned").op(0x85, 'R', '.').get();
        for (StrictPickle.Flavor flavor : StrictPickle.Flavor.values()) {
            PickleException e = refused(p, flavor);
            assertTrue(e.getMessage().contains("evil.pkl"), e.getMessage());
            assertTrue(e.getMessage().contains("'os.system'"), e.getMessage());
            assertTrue(e.getMessage().contains("GLOBAL at byte offset 2"), e.getMessage());
        }
    }

    @Test
    void refusesStackGlobalEval() {
        // protocol 4 spelling: STACK_GLOBAL takes module and name from the stack
        byte[] p = new Bytes().op(0x80, 4).shortUnicode("builtins").shortUnicode("eval").op(0x93)
                .shortUnicode("__import__('os').system('id')").op(0x85, 'R', '.').get();
        PickleException e = refused(p, StrictPickle.Flavor.TORCH);
        assertTrue(e.getMessage().contains("'builtins.eval'") && e.getMessage().contains("STACK_GLOBAL at byte offset 18"), e.getMessage());
    }

    @Test
    void refusesUnsupportedAndUnknownOpcodes() {
        // INST 'subprocess Popen' would call the class in Python; here it is never even parsed
        byte[] inst = new Bytes().op(0x80, 2, '(').op('i').text("subprocess\nPopen\n").op('.').get();
        PickleException e = refused(inst, StrictPickle.Flavor.TORCH);
        assertTrue(e.getMessage().contains("INST at byte offset 3") && e.getMessage().contains("not supported"), e.getMessage());

        byte[] ext = new Bytes().op(0x80, 2, 0x82, 1, '.').get();
        assertTrue(refused(ext, StrictPickle.Flavor.NUMPY).getMessage().contains("EXT1 at byte offset 2"));

        byte[] unknown = new Bytes().op(0x80, 2, 'K', 1, 0xff, '.').get();
        assertTrue(refused(unknown, StrictPickle.Flavor.NUMPY).getMessage().contains("unknown opcode 0xff at byte offset 4"));
    }

    @Test
    void refusesCallingATypeNameAndCrossFlavourGlobals() {
        // numpy.ndarray is allowed as _reconstruct's argument, not as something to call
        byte[] callType = new Bytes().op(0x80, 2, 'c').text("numpy\nndarray\n").op(')', 'R', '.').get();
        assertTrue(refused(callType, StrictPickle.Flavor.NUMPY).getMessage().contains("REDUCE at byte offset 18"));
        // a torch checkpoint has no business naming numpy
        byte[] numpyInTorch = new Bytes().op(0x80, 2, 'c').text("numpy\ndtype\n").op('.').get();
        assertTrue(refused(numpyInTorch, StrictPickle.Flavor.TORCH).getMessage().contains("'numpy.dtype'"));
        // BUILD on a plain dict would set arbitrary state; only OrderedDict attributes are tolerated
        byte[] buildOnInt = new Bytes().op(0x80, 2, 'K', 1, '}', 'b', '.').get();
        assertTrue(refused(buildOnInt, StrictPickle.Flavor.TORCH).getMessage().contains("BUILD at byte offset 5"));
    }

    @Test
    void refusesTruncatedPickles() {
        byte[] p = new Bytes().op(0x80, 2, 'B', 0xff, 0xff, 0, 0, 1, 2).get();
        assertTrue(refused(p, StrictPickle.Flavor.NUMPY).getMessage().contains("BINBYTES at byte offset 2"));
        byte[] noStop = new Bytes().op(0x80, 2, 'N').get();
        assertTrue(refused(noStop, StrictPickle.Flavor.NUMPY).getMessage().contains("without STOP"));
    }

    @Test
    void q16PromptsPayloadEqualsRawFloat16Bytes() throws Exception {
        for (String variant : new String[] {"ViT-L-14", "ViT-B-16", "ViT-B-32"}) {
            Path dir = Shared.data("q16").resolve(variant);
            StrictPickle.NumpyArray a = StrictPickle.readNumpyArray(dir.resolve("prompts.p"));
            long d = variant.equals("ViT-L-14") ? 768 : 512;
            assertEquals("<f2", a.descr());
            assertArrayEquals(new long[] {2, d}, a.shape());
            assertFalse(a.fortranOrder());
            assertArrayEquals(Files.readAllBytes(dir.resolve("prompts_2x" + d + "_float16_le.bin")), a.data(), variant);
        }
    }

    @Test
    void readsTorchStateDictWithStoragesAndStrides() {
        Natives.load();
        try (Scope s = Scope.open()) {
            Map<String, Tensor> sd = TorchCheckpoint.stateDict(Shared.data("multiheaded").resolve("sexual.pt"));
            assertEquals(java.util.List.of("0.weight", "0.bias", "3.weight", "3.bias", "3.running_mean", "3.running_var",
                    "3.num_batches_tracked", "4.weight", "4.bias"), java.util.List.copyOf(sd.keySet()));
            assertArrayEquals(new long[] {384, 768}, sd.get("0.weight").shape());
            assertEquals(ScalarType.Float, sd.get("0.weight").scalar_type().intern());
            assertEquals(ScalarType.Long, sd.get("3.num_batches_tracked").scalar_type().intern());
            assertEquals(112, sd.get("3.num_batches_tracked").item_long());
            // running variances are positive: a misaligned or misread storage would not be
            assertTrue(sd.get("3.running_var").min().item_float() > 0);

            Tensor prompts = TorchCheckpoint.tensor(Shared.data("multiheaded").resolve("finetuned_q16_prompts.pt"));
            assertArrayEquals(new long[] {2, 768}, prompts.shape());
        }
    }

    @Test
    void torchReaderRefusesAStateDictWhereATensorIsExpected() {
        PickleException e = assertThrows(PickleException.class,
                () -> TorchCheckpoint.tensor(Shared.data("multiheaded").resolve("sexual.pt")));
        assertTrue(e.getMessage().contains("sexual.pt") && e.getMessage().contains("not a single tensor"), e.getMessage());
    }

    /** A one-entry state dict {'w': tensor of size (3, 2), stride (1, 3)} over a 6-float storage, as torch.save writes it. */
    private Path torchZip(Path dir, int strideCols) throws Exception {
        byte[] pkl = new Bytes().op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', '(').unicode("w")
                .global("torch._utils", "_rebuild_tensor_v2").op('(', '(').unicode("storage").global("torch", "FloatStorage")
                .unicode("0").unicode("cpu").op('K', 6, 't', 'Q', 'K', 0, 'K', 3, 'K', 2, 0x86, 'K', 1, 'K', strideCols, 0x86, 0x89)
                .global("collections", "OrderedDict").op(')', 'R', 't', 'R', 'u', '.').get();
        java.nio.ByteBuffer storage = java.nio.ByteBuffer.allocate(24).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) storage.putFloat(i);
        Path file = dir.resolve("hand.pt");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(file))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("hand/data.pkl"));
            zip.write(pkl);
            zip.putNextEntry(new java.util.zip.ZipEntry("hand/data/0"));
            zip.write(storage.array());
        }
        return file;
    }

    @Test
    void honoursStridesAndRefusesViewsPastTheStorage(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Natives.load();
        try (Scope s = Scope.open()) {
            // stride (1, 3): element [i][j] is storage[i + 3j], the transpose of a row-major (2, 3)
            Tensor w = TorchCheckpoint.stateDict(torchZip(dir, 3)).get("w");
            assertTrue(w.is_contiguous());
            assertEquals(0f, w.select(0, 0).select(0, 0).item_float());
            assertEquals(3f, w.select(0, 0).select(0, 1).item_float());
            assertEquals(5f, w.select(0, 2).select(0, 1).item_float());
        }
        // stride (1, 4) reaches storage[2 + 4] = element 6 of 6
        PickleException e = assertThrows(PickleException.class, () -> TorchCheckpoint.stateDict(torchZip(dir, 4)));
        assertTrue(e.getMessage().contains("hand.pt") && e.getMessage().contains("runs past storage hand/data/0"), e.getMessage());
    }

    /**
     * Espresso's checkpoint layout, by hand as torch.save writes it: {'epoch': 3,
     * 'textEncoder_state_dict': OrderedDict{'final_layer_norm.weight': (3, 2) tensor,
     * 'embeddings.position_ids': (1, 2) int64}, 'loss': a 0-d tensor with requires_grad}.
     */
    private Path espressoZip(Path dir) throws Exception {
        Bytes b = new Bytes().op(0x80, 2, '}', '(').unicode("epoch").op('K', 3).unicode("textEncoder_state_dict")
                .global("collections", "OrderedDict").op(')', 'R', '(').unicode("final_layer_norm.weight");
        rebuild(b, "FloatStorage", "0", 6, 0, new int[] {3, 2}, new int[] {2, 1}, false);
        b.unicode("embeddings.position_ids");
        rebuild(b, "LongStorage", "1", 2, 0, new int[] {1, 2}, new int[] {2, 1}, false);
        b.op('u').unicode("loss");
        rebuild(b, "FloatStorage", "0", 6, 5, new int[] {}, new int[] {}, true);
        byte[] pkl = b.op('u', '.').get();
        java.nio.ByteBuffer floats = java.nio.ByteBuffer.allocate(24).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) floats.putFloat(i + 0.5f);
        java.nio.ByteBuffer longs = java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(0).putLong(1);
        Path file = dir.resolve("base_clip.pt");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(file))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("base_clip/data.pkl"));
            zip.write(pkl);
            zip.putNextEntry(new java.util.zip.ZipEntry("base_clip/data/0"));
            zip.write(floats.array());
            zip.putNextEntry(new java.util.zip.ZipEntry("base_clip/data/1"));
            zip.write(longs.array());
        }
        return file;
    }

    /** torch._utils._rebuild_tensor_v2((storage, key, 'cpu', numel), offset, size, stride, requires_grad, OrderedDict()). */
    private static void rebuild(Bytes b, String storage, String key, int numel, int offset, int[] size, int[] stride, boolean grad) {
        b.global("torch._utils", "_rebuild_tensor_v2").op('(', '(').unicode("storage").global("torch", storage).unicode(key).unicode("cpu")
                .op('K', numel, 't', 'Q', 'K', offset, '(');
        for (int v : size) b.op('K', v);
        b.op('t', '(');
        for (int v : stride) b.op('K', v);
        b.op('t', grad ? 0x88 : 0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R');
    }

    @Test
    void readsTheStateDictUnderAKeyOfATrainingCheckpoint(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Natives.load();
        Path file = espressoZip(dir);
        try (Scope s = Scope.open()) {
            Map<String, Tensor> sd = TorchCheckpoint.stateDict(file, "textEncoder_state_dict");
            assertEquals(java.util.List.of("final_layer_norm.weight", "embeddings.position_ids"), java.util.List.copyOf(sd.keySet()));
            assertArrayEquals(new long[] {3, 2}, sd.get("final_layer_norm.weight").shape());
            assertEquals(5.5f, sd.get("final_layer_norm.weight").select(0, 2).select(0, 1).item_float());
            assertEquals(1L, sd.get("embeddings.position_ids").select(1, 1).item_long());

            Path out = dir.resolve("tower.safetensors");
            assertEquals(1, org.evallearn.espresso.FilterLoader.convertTower(file, out));
            try (SafeTensorsFile f = SafeTensorsFile.open(out)) {
                assertEquals(java.util.Set.of("text_model.final_layer_norm.weight"), f.infos().keySet());
                assertTrue(org.bytedeco.pytorch.global.torch.equal(f.get("text_model.final_layer_norm.weight"), sd.get("final_layer_norm.weight")));
            }
        }
        PickleException missing = assertThrows(PickleException.class, () -> TorchCheckpoint.stateDict(file, "model_state_dict"));
        assertTrue(missing.getMessage().contains("no entry 'model_state_dict'") && missing.getMessage().contains("textEncoder_state_dict"),
                missing.getMessage());
        PickleException notDict = assertThrows(PickleException.class, () -> TorchCheckpoint.stateDict(file, "epoch"));
        assertTrue(notDict.getMessage().contains("not a state dict"), notDict.getMessage());
    }
}

package org.evallearn.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.StrictPickleTest.Bytes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both {@code torch.save} layouts: the state dict torch 1.13 wrote in each
 * ({@code tools/reference/torch_legacy_fixture.py}) reads to the exact values torch printed, and
 * every way a legacy stream can be broken is a {@link PickleException} naming the file.
 */
class TorchCheckpointLegacyTest {
    @TempDir Path dir;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    private static Path fixture(String name) throws Exception {
        return Path.of(TorchCheckpointLegacyTest.class.getResource(name).toURI());
    }

    @Test
    void bothLayoutsReadToTorchsExactValues() throws Exception {
        JsonNode expected = new ObjectMapper().readTree(fixture("state_dict_expected.json").toFile());
        List<String> keys = new ArrayList<>();
        expected.get("keys").forEach(k -> keys.add(k.asText()));
        Path legacy = fixture("state_dict_legacy.pth"), zip = fixture("state_dict_zip.pt");
        // Each file is the layout its name says, or this test would read one layout twice.
        assertArrayEquals(new byte[] {(byte) 0x80, 2}, Arrays.copyOf(Files.readAllBytes(legacy), 2));
        assertArrayEquals(new byte[] {'P', 'K', 3, 4}, Arrays.copyOf(Files.readAllBytes(zip), 4));
        for (Path file : List.of(legacy, zip)) {
            try (Scope s = Scope.open()) {
                Map<String, Tensor> sd = TorchCheckpoint.stateDict(file);
                assertEquals(keys, List.copyOf(sd.keySet()), file.toString());
                for (String key : keys) {
                    JsonNode e = expected.get("tensors").get(key);
                    Tensor t = sd.get(key);
                    long[] shape = new long[e.get("shape").size()];
                    for (int i = 0; i < shape.length; i++) shape[i] = e.get("shape").get(i).asLong();
                    assertArrayEquals(shape, t.shape(), file + " " + key);
                    assertTrue(t.is_contiguous(), key);
                    boolean floats = e.get("dtype").asText().equals("float32");
                    assertEquals(floats ? ScalarType.Float : ScalarType.Long, t.scalar_type().intern(), file + " " + key);
                    JsonNode values = e.get("values");
                    Tensor flat = t.reshape(-1);
                    assertEquals(values.size(), flat.numel(), key);
                    for (int i = 0; i < values.size(); i++) {
                        // Exact: the JSON holds each float32 as the double it is, and nothing is computed on the way.
                        if (floats) assertEquals((float) values.get(i).asDouble(), flat.get(i).item_float(), file + " " + key + "[" + i + "]");
                        else assertEquals(values.get(i).asLong(), flat.get(i).item_long(), file + " " + key + "[" + i + "]");
                    }
                }
            }
        }
    }

    @Test
    void everyTruncationOfTheTorchWrittenStreamIsRefusedByName() throws Exception {
        byte[] whole = Files.readAllBytes(fixture("state_dict_legacy.pth"));
        for (int length = 0; length < whole.length; length += 13) {
            Path cut = dir.resolve("cut-" + length + ".pth");
            Files.write(cut, Arrays.copyOf(whole, length));
            PickleException e = assertThrows(PickleException.class, () -> {
                try (Scope s = Scope.open()) {
                    TorchCheckpoint.stateDict(cut);
                }
            }, "a file cut at byte " + length);
            assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
        }
    }

    // ---- legacy streams by hand, one part broken at a time ----

    /** The five pickles and the storages of a one-tensor state dict {'w': (3, 2) view, stride (1, 3), of storage k0}. */
    private static final class Stream {
        byte[] magic = new Bytes().op(0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.').get();
        byte[] version = new Bytes().op(0x80, 2, 'M', 0xe9, 0x03, '.').get();
        byte[] sysInfo = sysInfo(0x88);
        String storageType = "FloatStorage", key = "k0", rebuild = "_rebuild_tensor_v2";
        int numel = 6;
        /** The persistent id's last field(s) after numel: view_metadata None. */
        int[] pidTail = {'N'};
        byte[] keys = keyList("k0");
        long count = 6;
        int dataFloats = 6;
        /** Where the storage section is cut (-1: not cut). */
        int dataBytes = -1;
        byte[] object; // null: the one-tensor state dict
        byte[] trailing = new byte[0];

        static byte[] sysInfo(int littleEndian) {
            return new Bytes().op(0x80, 2, '}', '(').unicode("protocol_version").op('M', 0xe9, 0x03).unicode("little_endian").op(littleEndian)
                    .unicode("type_sizes").op('}', '(').unicode("short").op('K', 2).unicode("int").op('K', 4).unicode("long").op('K', 4)
                    .op('u', 'u', '.').get();
        }

        static byte[] keyList(String... keys) {
            Bytes b = new Bytes().op(0x80, 2, ']', '(');
            for (String k : keys) b.unicode(k);
            return b.op('e', '.').get();
        }

        byte[] object() {
            return stateDict(new Bytes().op(0x80, 2), numel).op('.').get();
        }

        /** OrderedDict {'w': _rebuild_tensor_v2(pid of storage key × numel, 0, (3, 2), (1, 3), False, OrderedDict())}. */
        Bytes stateDict(Bytes b, int numel) {
            b.global("collections", "OrderedDict").op(')', 'R', '(').unicode("w")
                    .global("torch._utils", rebuild).op('(', '(').unicode("storage").global("torch", storageType)
                    .unicode(key).unicode("cpu").op('K', numel).op(pidTail).op('t', 'Q', 'K', 0, 'K', 3, 'K', 2, 0x86, 'K', 1, 'K', 3, 0x86);
            // v2 adds requires_grad and backward hooks; PyTorch < 0.4's _rebuild_tensor has only the four above.
            if (rebuild.endsWith("_v2")) b.op(0x89).global("collections", "OrderedDict").op(')', 'R');
            return b.op('t', 'R', 'u');
        }

        Path write(Path file) throws Exception {
            ByteBuffer data = ByteBuffer.allocate(8 + 4 * dataFloats).order(ByteOrder.LITTLE_ENDIAN).putLong(count);
            for (int i = 0; i < dataFloats; i++) data.putFloat(i);
            var out = new java.io.ByteArrayOutputStream();
            byte[] storages = dataBytes < 0 ? data.array() : Arrays.copyOf(data.array(), dataBytes);
            for (byte[] part : List.of(magic, version, sysInfo, object != null ? object : object(), keys, storages, trailing)) out.writeBytes(part);
            Files.write(file, out.toByteArray());
            return file;
        }
    }

    private String refused(String name, java.util.function.Consumer<Stream> breakIt) throws Exception {
        Stream s = new Stream();
        breakIt.accept(s);
        Path file = s.write(dir.resolve(name + ".pth"));
        PickleException e = assertThrows(PickleException.class, () -> {
            try (Scope scope = Scope.open()) {
                TorchCheckpoint.stateDict(file);
            }
        }, name);
        assertTrue(e.getMessage().contains(file.toString()), name + ": " + e.getMessage());
        return e.getMessage();
    }

    private static void assertSays(String message, String... words) {
        for (String w : words) assertTrue(message.contains(w), "'" + w + "' in: " + message);
    }

    @Test
    void theHandMadeControlReadsAsDoesAPre04File() throws Exception {
        Stream old = new Stream();
        old.rebuild = "_rebuild_tensor";
        for (Path file : List.of(new Stream().write(dir.resolve("control.pth")), old.write(dir.resolve("torch-0.3.pth")))) {
            try (Scope s = Scope.open()) {
                Tensor w = TorchCheckpoint.stateDict(file).get("w");
                // stride (1, 3): element [i][j] is storage[i + 3j]
                assertArrayEquals(new long[] {3, 2}, w.shape());
                assertEquals(3f, w.select(0, 0).select(0, 1).item_float());
                assertEquals(5f, w.select(0, 2).select(0, 1).item_float());
            }
        }
    }

    @Test
    void preZipGlobalsAndPidsStayOutOfZipCheckpoints() {
        // _rebuild_tensor predates the zip layout (PyTorch 0.4 replaced it), so a zip's data.pkl may not name it.
        byte[] old = new Bytes().op(0x80, 2).global("torch._utils", "_rebuild_tensor").op('.').get();
        PickleException e = assertThrows(PickleException.class, () -> StrictPickle.parse("x.pt!archive/data.pkl", old, StrictPickle.Flavor.TORCH));
        assertSays(e.getMessage(), "x.pt!archive/data.pkl", "'torch._utils._rebuild_tensor'", "not allowed");
        // The legacy six-field persistent id is not the zip's five.
        byte[] pid = new Bytes().op(0x80, 2, '(').unicode("storage").global("torch", "FloatStorage").unicode("0").unicode("cpu")
                .op('K', 1, 'N', 't', 'Q', '.').get();
        e = assertThrows(PickleException.class, () -> StrictPickle.parse("x.pt!archive/data.pkl", pid, StrictPickle.Flavor.TORCH));
        assertSays(e.getMessage(), "x.pt!archive/data.pkl", "is not ('storage', type, key, location, numel)");
    }

    @Test
    void python2StringsReadAsTorchLoadDecodesThem() {
        // SHORT_BINSTRING and BINSTRING: Python 2's str, which torch.load decodes as UTF-8 (its default encoding)
        byte[] p = new Bytes().op(0x80, 2, ']', '(', 'U', 6).text("conv.w").op('T', 3, 0, 0, 0).text("k01").op('e', '.').get();
        assertEquals(List.of("conv.w", "k01"), StrictPickle.parse("py2.pth", p, StrictPickle.Flavor.PLAIN));
    }

    @Test
    void brokenHeadersAreRefused() throws Exception {
        assertSays(refused("big-endian", s -> s.sysInfo = Stream.sysInfo(0x89)), "big-endian", "little_endian=False");
        assertSays(refused("no-byte-order", s -> s.sysInfo = new Bytes().op(0x80, 2, '}', '.').get()), "little_endian=nothing");
        assertSays(refused("sys-info-list", s -> s.sysInfo = new Bytes().op(0x80, 2, ']', '.').get()), "sys_info is", "not a dict");
        assertSays(refused("wrong-magic", s -> s.magic = new Bytes().op(0x80, 2, 'K', 7, '.').get()), "magic number", "0x1950a86a20f9469cfc6c");
        assertSays(refused("wrong-version", s -> s.version = new Bytes().op(0x80, 2, 'M', 0xe8, 0x03, '.').get()), "protocol version", "1000");
        // A header pickle may hold plain data only: a global there is refused as anywhere else.
        assertSays(refused("global-in-header", s -> s.version = new Bytes().op(0x80, 2).global("os", "system").op('.').get()),
                "legacy torch.save stream: protocol version pickle", "'os.system'", "not allowed");
    }

    @Test
    void objectsOutsideThePolicyAreRefused() throws Exception {
        assertSays(refused("double-storage", s -> s.storageType = "DoubleStorage"), "legacy torch.save stream: object pickle", "'torch.DoubleStorage'");
        assertSays(refused("zip-style-pid", s -> s.pidTail = new int[0]), "persistent id", "view_metadata");
        assertSays(refused("storage-view", s -> s.pidTail = new int[] {'K', 0, 0x85}), "is a view of another storage");
        assertSays(refused("os-system", s -> s.object = new Bytes().op(0x80, 2).global("os", "system").unicode("touch x").op(0x85, 'R', '.').get()),
                "legacy torch.save stream: object pickle", "'os.system'");
    }

    @Test
    void keyListsThatDoNotMatchAreRefused() throws Exception {
        assertSays(refused("key-missing", s -> s.keys = Stream.keyList()), "does not match", "no data for [k0]");
        assertSays(refused("key-extra", s -> s.keys = Stream.keyList("k0", "k1")), "does not match", "data for unnamed [k1]");
        assertSays(refused("key-twice", s -> s.keys = Stream.keyList("k0", "k0")), "names k0 twice");
        assertSays(refused("key-not-list", s -> s.keys = new Bytes().op(0x80, 2, '}', '.').get()), "key list is", "not a list");
        assertSays(refused("key-not-string", s -> s.keys = new Bytes().op(0x80, 2, ']', 'K', 1, 'a', '.').get()), "not a string");
    }

    @Test
    void storagesThatDisagreeWithThePickleAreRefused() throws Exception {
        assertSays(refused("count-mismatch", s -> s.count = 5), "storage k0 holds 5 elements", "the pickle says 6");
        assertSays(refused("storage-short", s -> s.dataFloats = 5), "truncated", "storage k0 needs 24 bytes", "has 20 left");
        assertSays(refused("count-cut", s -> s.dataBytes = 4), "truncated", "element count of storage k0");
        assertSays(refused("trailing", s -> s.trailing = new byte[] {1, 2, 3}), "3 bytes follow the last storage");
        assertSays(refused("huge-count", s -> {
            s.numel = 255;
            s.count = 255;
        }), "truncated", "storage k0 needs 1020 bytes");
        assertSays(refused("view-past-storage", s -> {
            s.numel = 5;
            s.count = 5;
            s.dataFloats = 5;
        }), "runs past storage legacy storage k0");
        // One key named as two storages of different sizes: which would the data be?
        assertSays(refused("one-key-two-sizes", s -> s.object = s.stateDict(s.stateDict(new Bytes().op(0x80, 2, ']', '('), 6), 5).op('e', '.').get()),
                "storage k0 is named as", "6 × F32", "5 × F32");
    }
}

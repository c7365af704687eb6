package org.evallearn.tensor;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir Path dir;

    @BeforeAll
    static void load() {
        Natives.load();
    }

    @Test
    void readsGoldenFixtureViews() {
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(Shared.golden("unet-tiny").resolve("io.safetensors"))) {
            Tensor sample = f.get("sample");
            assertArrayEquals(new long[] {2, 4, 16, 16}, sample.shape());
            Tensor ts = f.get("timestep");
            assertEquals(torch.ScalarType.Long, ts.scalar_type().intern());
            assertEquals(981, ts.select(0, 0).item_long());
            assertEquals(1, ts.select(0, 1).item_long());
        }
    }

    @Test
    void roundTripsEveryDtype() {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("f32", Tensor.create(new float[] {1.5f, -2f, 3.25f, 4f}, 2, 2));
            in.put("f16", Tensor.create(new float[] {0.5f, 7f}, 2).to(torch.ScalarType.Half));
            in.put("bf16", Tensor.create(new float[] {0.5f, -7f, 9f}, 3).to(torch.ScalarType.BFloat16));
            in.put("i64", Tensor.create(new long[] {1L << 40, -3}, 2));
            in.put("i32", Tensor.create(new int[] {5, 6, 7}, 3));
            in.put("u8", Tensor.create(new byte[] {1, (byte) 255}, 2));
            in.put("bool", Tensor.create(new boolean[] {true, false, true}, 3));
            in.put("scalar", Tensor.create(new float[] {42f}).view(new long[0]));
            Path file = dir.resolve("all.safetensors");
            SafeTensorsWriter.write(file, in, Map.of("format", "pt"));
            try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
                assertEquals("pt", f.metadata().get("format"));
                for (var e : in.entrySet()) {
                    Tensor back = f.get(e.getKey());
                    assertEquals(e.getValue().scalar_type().intern(), back.scalar_type().intern(), e.getKey());
                    assertArrayEquals(e.getValue().shape(), back.shape(), e.getKey());
                    assertTrue(back.equal(e.getValue()), e.getKey());
                }
            }
        }
    }

    @Test
    void mappingIsPrivateSoInPlaceEditsNeverReachTheFile() throws IOException {
        try (Scope s = Scope.open()) {
            Path file = dir.resolve("w.safetensors");
            SafeTensorsWriter.write(file, Map.of("w", torch.zeros(4)));
            byte[] before = Files.readAllBytes(file);
            try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
                f.get("w").add_(new org.bytedeco.pytorch.Scalar(1.0));
                assertEquals(1f, f.get("w").select(0, 0).item_float());
            }
            assertArrayEquals(before, Files.readAllBytes(file));
        }
    }

    @Test
    void misalignedDataIsCopiedNotMisread() throws IOException {
        // header of odd length puts the F32 data at an odd offset
        String json = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1,9]}}";
        ByteBuffer data = ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN).put((byte) 7).putFloat(1.25f).putFloat(-3f);
        Path file = write(json, data.array());
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(file)) {
            Tensor b = f.get("b");
            assertEquals(1.25f, b.select(0, 0).item_float());
            assertEquals(-3f, b.select(0, 1).item_float());
        }
    }

    @Test
    void readsTensorsBeyondTwoGibibytes() throws IOException {
        // A sparse file: 2 GiB + 4 KiB of U8 filler, then one F32 tensor whose bytes are real.
        long filler = (1L << 31) + 4096;
        String json = "{\"filler\":{\"dtype\":\"U8\",\"shape\":[" + filler + "],\"data_offsets\":[0," + filler + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + filler + "," + (filler + 8) + "]}}";
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("big.safetensors");
        try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            ByteBuffer head = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
            raf.write(head.array());
            raf.seek(8 + h.length + filler);
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(6.5f).putFloat(-1f).array());
        }
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(file)) {
            Tensor tail = f.get("tail");
            assertEquals(6.5f, tail.select(0, 0).item_float());
            assertEquals(-1f, tail.select(0, 1).item_float());
            assertEquals(filler, f.get("filler").numel());
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void rejectsMalformedFilesNamingFileAndTensor() throws IOException {
        assertError(Files.write(dir.resolve("short.safetensors"), new byte[] {1, 2}), "not a safetensors file");
        byte[] hugeLen = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 50).array();
        assertError(Files.write(dir.resolve("huge.safetensors"), hugeLen), "header length");
        assertError(write("{not json", new byte[0]), "not valid JSON");
        assertError(write("[1,2]", new byte[0]), "must be a JSON object");
        assertError(write("{\"t\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]), "tensor 't': dtype 'F64'");
        assertError(write("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]), "outside the data area");
        assertError(write("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]), "needs 12 bytes");
        assertError(write("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", new byte[8]), "shape[0]");
        assertError(write("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                new byte[12]), "overlap");
        // an empty tensor between two overlapping ones hides the overlap from a neighbours-only check
        assertError(write("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]), "'a' and 'b' overlap");
        assertError(write("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}xyz", new byte[4]), "not valid JSON");
        assertError(write("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} {}", new byte[4]), "not valid JSON");
        assertError(write("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                new byte[8]), "Duplicate field");
        assertError(write("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]), "data_offsets");
    }

    @Test
    void emptyTensorsAndSpacePaddedHeadersAreFine() throws IOException {
        // safetensors writers pad the header with spaces to align the data; an empty tensor may sit anywhere
        Path file = write("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}      ", new byte[12]);
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(file)) {
            assertEquals(0, f.get("z").numel());
            assertEquals(3, f.infos().size());
        }
    }

    @Test
    void aHeaderLengthInsideTheFileButOverTheCapIsRefusedBeforeReading() throws IOException {
        // sparse: the header length fits the file, so only the cap can refuse it
        Path file = dir.resolve("capped.safetensors");
        try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(SafeTensorsFile.MAX_HEADER_BYTES + 1).array());
            raf.setLength(8 + SafeTensorsFile.MAX_HEADER_BYTES + 64);
        }
        try {
            assertError(file, "exceeds the cap of " + SafeTensorsFile.MAX_HEADER_BYTES);
        } finally {
            Files.delete(file);
        }
    }

    private Path write(String json, byte[] data) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return Files.write(Files.createTempFile(dir, "bad", ".safetensors"), b.array());
    }

    private static void assertError(Path file, String expected) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensorsFile.open(file).close());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }
}

package org.evallearn.tensor;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A safetensors file, memory-mapped, handing out zero-copy tensor views.
 *
 * <p>The header is validated completely before any byte of the data area is touched: a
 * malformed or hostile file is a {@link SafeTensorsException} naming the file and the tensor,
 * never an out-of-bounds read in native code. The mapping is private (copy-on-write), so code
 * that edits weights in place never writes back into the user's file.
 */
public final class SafeTensorsFile implements AutoCloseable {
    /** Larger headers are refused: real checkpoints have headers of a few hundred KiB. */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private static final ObjectMapper JSON =
            new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Path path;
    private final long dataStart;
    private final Map<String, TensorInfo> infos;
    private final Map<String, String> metadata;
    private Tensor bytes; // uint8 view of the whole file; null for a file without data

    private SafeTensorsFile(Path path, long dataStart, Map<String, TensorInfo> infos, Map<String, String> metadata) {
        this.path = path;
        this.dataStart = dataStart;
        this.infos = infos;
        this.metadata = metadata;
    }

    /** Reads and validates the header, then maps the file. */
    public static SafeTensorsFile open(Path path) {
        long fileSize;
        ByteBuffer header;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            fileSize = ch.size();
            if (fileSize < 8) {
                throw new SafeTensorsException(path + ": not a safetensors file (" + fileSize
                        + " bytes; expected an 8-byte header length followed by a JSON header)");
            }
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0);
            long headerLen = len.flip().getLong();
            if (headerLen < 2 || headerLen > fileSize - 8) {
                throw new SafeTensorsException(path + ": header length " + Long.toUnsignedString(headerLen)
                        + " is impossible for a file of " + fileSize + " bytes (expected 2.." + (fileSize - 8) + ")");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw new SafeTensorsException(path + ": header length " + headerLen + " exceeds the cap of "
                        + MAX_HEADER_BYTES + " bytes (real checkpoints have headers of a few hundred KiB)");
            }
            header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
        } catch (IOException e) {
            throw new SafeTensorsException(path + ": cannot read (" + e.getMessage() + ")", e);
        }
        long dataStart = 8 + header.capacity();
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, TensorInfo> infos = parseHeader(path, header.array(), fileSize - dataStart, metadata);
        SafeTensorsFile file = new SafeTensorsFile(path, dataStart, infos, metadata);
        if (fileSize > dataStart) file.map(fileSize);
        return file;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) throw new IOException("unexpected end of file");
            pos += n;
        }
    }

    static Map<String, TensorInfo> parseHeader(Path path, byte[] header, long dataLength, Map<String, String> metadata) {
        JsonNode root;
        try {
            // Strictly: new String(…, UTF_8) would turn a bad byte into U+FFFD, a tensor name no file has.
            String text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(header)).toString();
            // Writers may pad the header with spaces for alignment; anything else after the
            // object is garbage (FAIL_ON_TRAILING_TOKENS), not something to ignore.
            root = JSON.readTree(text.trim());
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new SafeTensorsException(path + ": header is not UTF-8 text (" + e.getMessage() + ")", e);
        } catch (JsonProcessingException e) {
            throw new SafeTensorsException(path + ": header is not valid JSON (" + e.getOriginalMessage() + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw new SafeTensorsException(path + ": header must be a JSON object of tensor name → {dtype, shape, data_offsets}");
        }
        Map<String, TensorInfo> infos = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode node = e.getValue();
            if (name.equals("__metadata__")) {
                if (!node.isObject()) throw new SafeTensorsException(path + ": __metadata__ must be an object of strings");
                node.fields().forEachRemaining(m -> {
                    if (!m.getValue().isTextual()) {
                        throw new SafeTensorsException(path + ": __metadata__." + m.getKey() + " must be a string");
                    }
                    metadata.put(m.getKey(), m.getValue().asText());
                });
                continue;
            }
            infos.put(name, parseEntry(path, name, node, dataLength));
        }
        checkNoOverlap(path, infos.values());
        return Collections.unmodifiableMap(infos);
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode node, long dataLength) {
        String where = path + ": tensor '" + name + "'";
        if (!node.isObject()) throw new SafeTensorsException(where + ": expected an object {dtype, shape, data_offsets}");
        JsonNode dt = node.get("dtype");
        if (dt == null || !dt.isTextual()) throw new SafeTensorsException(where + ": missing string field 'dtype'");
        DType dtype = DType.fromSafetensors(dt.asText());
        if (dtype == null) {
            throw new SafeTensorsException(where + ": dtype '" + dt.asText() + "' is not supported (expected one of F32, F16, BF16, I64, I32, U8, BOOL)");
        }
        JsonNode sh = node.get("shape");
        if (sh == null || !sh.isArray()) throw new SafeTensorsException(where + ": missing array field 'shape'");
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
                throw new SafeTensorsException(where + ": shape[" + i + "] = " + d + " is not a non-negative integer");
            }
            shape[i] = d.asLong();
        }
        JsonNode off = node.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()
                || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
            throw new SafeTensorsException(where + ": 'data_offsets' must be [begin, end] integers");
        }
        long begin = off.get(0).asLong(), end = off.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLength) {
            throw new SafeTensorsException(where + ": data_offsets [" + begin + ", " + end
                    + "] lie outside the data area of " + dataLength + " bytes");
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
        long expected;
        try {
            expected = Math.multiplyExact(info.numel(), dtype.byteSize);
        } catch (ArithmeticException overflow) {
            throw new SafeTensorsException(where + ": shape " + java.util.Arrays.toString(shape) + " overflows");
        }
        if (expected != info.byteLength()) {
            throw new SafeTensorsException(where + ": shape " + java.util.Arrays.toString(shape) + " of " + dtype
                    + " needs " + expected + " bytes but data_offsets span " + info.byteLength());
        }
        return info;
    }

    /**
     * Sorted by begin, a tensor overlaps an earlier one exactly when it begins before the largest
     * end seen so far. Empty tensors occupy no bytes, so they are left out first: skipping them
     * inside a neighbours-only comparison hid A[0,8) behind Z[4,4) from B[4,12).
     */
    private static void checkNoOverlap(Path path, java.util.Collection<TensorInfo> infos) {
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.removeIf(t -> t.byteLength() == 0);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        TensorInfo furthest = null;
        for (TensorInfo t : sorted) {
            if (furthest != null && t.begin() < furthest.end()) {
                throw new SafeTensorsException(path + ": tensors '" + furthest.name() + "' and '" + t.name() + "' overlap in the data area");
            }
            if (furthest == null || t.end() > furthest.end()) furthest = t;
        }
    }

    private void map(long fileSize) {
        Natives.load();
        try (Scope s = Scope.open()) {
            TensorOptions opts = new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Byte));
            // shared=false maps MAP_PRIVATE: in-place edits of weights stay in memory. The mapping
            // escapes to this file, which closes it; a caller's scope must not free it first.
            bytes = s.escape(torch.from_file(path.toString(), new BoolOptional(false), new LongOptional(fileSize), opts));
        } catch (RuntimeException e) {
            throw new SafeTensorsException(path + ": cannot map file (" + e.getMessage() + ")", e);
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> infos() {
        return infos;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean contains(String name) {
        return infos.containsKey(name);
    }

    /**
     * A CPU tensor viewing the file's bytes; copied only when the data is not aligned for its
     * dtype. The view keeps the mapping alive after this file is closed.
     */
    public Tensor get(String name) {
        TensorInfo info = infos.get(name);
        if (info == null) throw new SafeTensorsException(path + ": no tensor named '" + name + "'");
        long[] shape = info.shape();
        if (info.byteLength() == 0) {
            try (TensorOptions opts = new TensorOptions().dtype(new ScalarTypeOptional(info.dtype().scalarType))) {
                return torch.empty(shape, opts, new org.bytedeco.pytorch.MemoryFormatOptional());
            }
        }
        long offset = dataStart + info.begin();
        Tensor raw = bytes.narrow(0, offset, info.byteLength());
        if (offset % info.dtype().byteSize != 0) {
            Tensor copy = raw.clone();
            raw.close();
            raw = copy;
        }
        Tensor typed = raw.view(info.dtype().scalarType);
        Tensor view = typed.view(shape);
        typed.close();
        raw.close();
        return view;
    }

    @Override
    public void close() {
        if (bytes != null) {
            bytes.close();
            bytes = null;
        }
    }
}

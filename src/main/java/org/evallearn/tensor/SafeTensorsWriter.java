package org.evallearn.tensor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;

/**
 * Writes tensors as a safetensors file: names sorted, header padded to 8 bytes so every
 * tensor is aligned, written to a temporary file and renamed so a crash never leaves a
 * half-written file under the final name.
 */
public final class SafeTensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 1 << 26;

    private SafeTensorsWriter() {}

    public static void write(Path path, Map<String, Tensor> tensors) {
        write(path, tensors, Map.of());
    }

    public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) {
        try (Scope scope = Scope.open()) {
            Map<String, Tensor> sorted = new TreeMap<>(tensors);
            List<Tensor> data = new ArrayList<>();
            ObjectNode header = JSON.createObjectNode();
            if (!metadata.isEmpty()) {
                ObjectNode meta = header.putObject("__metadata__");
                metadata.forEach(meta::put);
            }
            long offset = 0;
            for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
                Tensor t = e.getValue().detach().cpu().contiguous();
                DType dtype = DType.of(t.scalar_type());
                ObjectNode entry = header.putObject(e.getKey());
                entry.put("dtype", dtype.safetensorsName);
                var shape = entry.putArray("shape");
                for (long d : t.shape()) shape.add(d);
                long n = t.nbytes();
                entry.putArray("data_offsets").add(offset).add(offset + n);
                offset += n;
                data.add(t);
            }
            byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
            int padded = (json.length + 7) / 8 * 8;
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) head.put((byte) ' ');
            head.flip();

            Path parent = path.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path tmp = Files.createTempFile(parent, path.getFileName().toString(), ".tmp");
            try {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    writeFully(ch, head);
                    for (Tensor t : data) writeTensor(ch, t);
                    ch.force(true);
                }
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path + ": " + e.getMessage(), e);
        }
    }

    private static void writeTensor(FileChannel ch, Tensor t) throws IOException {
        long n = t.nbytes();
        if (n == 0) return;
        BytePointer p = new BytePointer(t.data_ptr()).capacity(n);
        for (long pos = 0; pos < n; pos += CHUNK) {
            long end = Math.min(n, pos + CHUNK);
            writeFully(ch, p.position(pos).limit(end).asBuffer());
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }
}

package org.evallearn.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code records.jsonl}: one JSON line per evaluated image, appended a batch at a time and forced
 * to disk (fsync) before the next batch starts, so a crash loses at most the batch in flight.
 * {@link #recover} keeps the longest prefix of whole batches and cuts off the rest, a torn
 * last line included. Every record carries {@code "index"}, its position in the log from 0;
 * a log whose length is not known ahead (red-teaming rounds) passes {@code Integer.MAX_VALUE} as the total.
 */
public final class RecordLog implements AutoCloseable {
    public static final String FILE = "records.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final FileChannel channel;

    private RecordLog(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    public static RecordLog append(Path file) {
        try {
            return new RecordLog(file, FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new OutputWriteException(file, e, "nothing of this session was recorded");
        }
    }

    /** Appends one batch's records and forces them to disk. */
    public void write(List<Map<String, Object>> records) {
        StringBuilder lines = new StringBuilder();
        try {
            for (Map<String, Object> r : records) lines.append(JSON.writeValueAsString(r)).append('\n');
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("record not serialisable: " + e.getMessage(), e);
        }
        byte[] data = lines.toString().getBytes(StandardCharsets.UTF_8);
        boolean tear = CrashPoint.tearsThisBatch();
        try {
            ByteBuffer bytes = ByteBuffer.wrap(data, 0, tear ? middleOfLastLine(data) : data.length);
            while (bytes.hasRemaining()) channel.write(bytes);
            channel.force(true);
        } catch (IOException e) {
            // A write cut short (a full disk) may leave part of this batch; recover() cuts it off on --resume.
            throw new OutputWriteException(file, e, "the records of the batches before this one are kept; make room and continue with --resume");
        }
        if (tear) CrashPoint.halt();
        CrashPoint.batchForced();
    }

    /** Where a kill mid-write tears the batch: halfway through its last line (earlier lines whole). */
    private static int middleOfLastLine(byte[] data) {
        int lastLineStart = data.length - 1;
        while (lastLineStart > 0 && data[lastLineStart - 1] != '\n') lastLineStart--;
        return lastLineStart + (data.length - lastLineStart) / 2;
    }

    /**
     * The records of the whole batches at the start of {@code file} (batch {@code b} holds the
     * images {@code b·batchSize} up to {@code min((b+1)·batchSize, total)}), in order; the file is
     * truncated after them so appending continues cleanly.
     */
    public static List<JsonNode> recover(Path file, int batchSize, int total) {
        if (!Files.exists(file)) return List.of();
        try {
            byte[] bytes = Files.readAllBytes(file);
            List<JsonNode> records = new ArrayList<>();
            long keptBytes = 0;
            int start = 0;
            List<JsonNode> batch = new ArrayList<>();
            while (start < bytes.length) {
                int end = start;
                while (end < bytes.length && bytes[end] != '\n') end++;
                if (end == bytes.length) break; // no newline: torn
                JsonNode node;
                try {
                    node = JSON.readTree(new String(bytes, start, end - start, StandardCharsets.UTF_8));
                } catch (JsonProcessingException e) {
                    break;
                }
                int expected = records.size() + batch.size();
                if (node == null || !node.path("index").canConvertToInt() || node.path("index").intValue() != expected) break;
                batch.add(node);
                start = end + 1;
                int batchEnd = Math.min(total, (records.size() / batchSize + 1) * batchSize);
                if (records.size() + batch.size() == batchEnd) {
                    records.addAll(batch);
                    batch.clear();
                    keptBytes = start;
                }
            }
            if (keptBytes < bytes.length) {
                try (FileChannel c = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    c.truncate(keptBytes);
                    c.force(true);
                }
            }
            return records;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + file + ": " + e.getMessage(), e);
        }
    }
}

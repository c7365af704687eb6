package org.evallearn.attack.prompt;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.run.AtomicFiles;
import org.evallearn.tensor.Placement;

/** What the three prompt searches share: id tensors, seeds per item, CSV output. */
final class PromptAttacks {
    private PromptAttacks() {}

    /** (rows, n) int64 ids on the placement's device, in the caller's scope. */
    static Tensor ids(long[][] rows, Placement placement) {
        int n = rows[0].length;
        long[] flat = new long[rows.length * n];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * n, n);
        return Tensor.create(flat, rows.length, n).to(placement.torchDevice(), torch.ScalarType.Long);
    }

    /**
     * The seed of item {@code index} of a search seeded with {@code seed}: each item draws from its
     * own stream, so an item's result does not depend on how many came before it (a {@code limit}
     * on the inputs keeps the first results unchanged, and a resumed search continues exactly).
     */
    static long itemSeed(long seed, long index) {
        long z = seed + 0x9E3779B97F4A7C15L * (index + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Writes {@code rows} as CSV, atomically: Python's {@code csv.writer} (minimal quoting, CRLF)
     * when {@code crlf}, else pandas' {@code to_csv} (minimal quoting, LF). {@code header} may be null.
     */
    static void writeCsv(Path file, List<String> header, List<List<Object>> rows, boolean crlf) {
        StringWriter out = new StringWriter();
        CSVFormat format = CSVFormat.DEFAULT.builder().setRecordSeparator(crlf ? "\r\n" : "\n").build();
        try (CSVPrinter p = new CSVPrinter(out, format)) {
            if (header != null) p.printRecord(header);
            for (List<Object> row : rows) p.printRecord(row);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        AtomicFiles.writeString(file, out.toString());
    }

    static void requireAtLeast(String key, long value, long min) {
        if (value < min) throw new IllegalArgumentException(key + " must be at least " + min + ", got " + value);
    }

    static void requireProbability(String key, double value) {
        if (!(value >= 0 && value <= 1)) throw new IllegalArgumentException(key + " must be in [0, 1], got " + value);
    }
}

package org.evallearn.attack.prompt;

import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.data.Prompt;
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
     * Writes {@code rows} as CSV, atomically, as Python's {@code csv} module does with its default
     * dialect (which pandas' {@code to_csv} uses too): a field is quoted only when it holds a
     * comma, a quote or a line break, quotes doubled; a row of one empty field is {@code ""};
     * numbers as Python's {@code repr}. Lines end in CRLF ({@code csv.writer}) when {@code crlf},
     * else LF ({@code to_csv}). {@code header} may be null.
     */
    static void writeCsv(Path file, List<String> header, List<List<Object>> rows, boolean crlf) {
        StringBuilder out = new StringBuilder();
        String end = crlf ? "\r\n" : "\n";
        if (header != null) out.append(csvLine(List.copyOf(header))).append(end);
        for (List<Object> row : rows) out.append(csvLine(row)).append(end);
        AtomicFiles.writeString(file, out.toString());
    }

    static String csvLine(List<?> row) {
        if (row.size() == 1 && "".equals(row.get(0))) return "\"\"";
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < row.size(); i++) {
            if (i > 0) line.append(',');
            Object v = row.get(i);
            String field = v instanceof Double d ? pythonRepr(d) : String.valueOf(v);
            boolean quote = field.indexOf(',') >= 0 || field.indexOf('"') >= 0 || field.indexOf('\n') >= 0 || field.indexOf('\r') >= 0;
            line.append(quote ? "\"" + field.replace("\"", "\"\"") + "\"" : field);
        }
        return line.toString();
    }

    /** Python's {@code repr(float)}: the shortest round-tripping digits, scientific below 1e-4 and from 1e16. */
    static String pythonRepr(double d) {
        if (Double.isNaN(d)) return "nan";
        if (Double.isInfinite(d)) return d > 0 ? "inf" : "-inf";
        String text = Double.toString(d);
        double a = Math.abs(d);
        if (a != 0 && (a < 1e-4 || a >= 1e16)) {
            java.math.BigDecimal b = new java.math.BigDecimal(Double.toString(d));
            String digits = b.unscaledValue().abs().toString().replaceAll("0+$", "");
            if (digits.isEmpty()) digits = "0";
            int exponent = b.precision() - b.scale() - 1;
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format(java.util.Locale.ROOT, "%02d", Math.abs(exponent));
        }
        if (text.contains("E")) text = new java.math.BigDecimal(text).stripTrailingZeros().toPlainString();
        if (!text.contains(".")) text = text + ".0";
        return text;
    }

    static void requireAtLeast(String key, long value, long min) {
        if (value < min) throw new IllegalArgumentException(key + " must be at least " + min + ", got " + value);
    }

    static void requireProbability(String key, double value) {
        if (!(value >= 0 && value <= 1)) throw new IllegalArgumentException(key + " must be in [0, 1], got " + value);
    }

    /**
     * A prompt found against a target prompt. Its origin is the target itself: the runner writes the origin to the
     * output CSV's target_prompt column.
     */
    static Prompt againstTarget(String adversarialPrompt, String targetPrompt) {
        return new Prompt(adversarialPrompt, OptionalLong.empty(), OptionalDouble.empty(), targetPrompt);
    }
}

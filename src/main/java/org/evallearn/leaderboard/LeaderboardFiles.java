package org.evallearn.leaderboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The leaderboard as files: {@code benchmark_scores.json} in compute_benchmark's layout
 * (technique → rank, bench_score, safety, quality, rounded to 6 places; NaN as null),
 * {@code leaderboard.csv} (every metric value read, and the scores), and {@code leaderboard.html},
 * one bar chart per metric and one for the scores, drawn as inline SVG: no script, no network,
 * and no generated image. Each file is written whole to a temporary name and renamed.
 */
public final class LeaderboardFiles {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private LeaderboardFiles() {}

    public static List<Path> write(Path dir, Reports.Table table, List<BenchScore.Row> rows) {
        try {
            Files.createDirectories(dir);
            ObjectNode scores = JSON.createObjectNode();
            for (BenchScore.Row r : rows) {
                ObjectNode n = scores.putObject(r.technique());
                n.put("rank", r.rank());
                putRounded(n, "bench_score", r.benchScore());
                putRounded(n, "safety", r.safety());
                putRounded(n, "quality", r.quality());
            }
            List<Path> out = new ArrayList<>();
            out.add(atomically(dir.resolve("benchmark_scores.json"), JSON.writeValueAsString(scores)));
            out.add(atomically(dir.resolve("leaderboard.csv"), csv(table, rows)));
            out.add(atomically(dir.resolve("leaderboard.html"), html(table, rows)));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the leaderboard in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void putRounded(ObjectNode n, String key, double v) {
        if (Double.isNaN(v)) n.putNull(key);
        else n.put(key, new BigDecimal(v).setScale(6, RoundingMode.HALF_EVEN).doubleValue());
    }

    /** The table printed on the terminal, as compute_benchmark prints it. */
    public static String text(List<BenchScore.Row> rows) {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%-6s %-22s %8s %8s %11s%n", "Rank", "Technique", "Safety", "Quality", "BenchScore"));
        s.append("-".repeat(58)).append('\n');
        for (BenchScore.Row r : rows) {
            s.append(String.format(Locale.ROOT, "%-6d %-22s %8.4f %8.4f %11.4f%n", r.rank(), r.technique(), r.safety(), r.quality(), r.benchScore()));
        }
        return s.toString();
    }

    static String csv(Reports.Table table, List<BenchScore.Row> rows) {
        List<String> columns = Reports.columns(table);
        StringBuilder s = new StringBuilder("rank,technique");
        for (String c : columns) s.append(',').append(c);
        s.append(",safety,quality,bench_score\n");
        for (BenchScore.Row r : rows) {
            s.append(r.rank()).append(',').append(csvField(r.technique()));
            Map<String, Double> v = table.values().get(r.technique());
            for (String c : columns) s.append(',').append(v.containsKey(c) ? number(v.get(c)) : "");
            s.append(',').append(number(r.safety())).append(',').append(number(r.quality())).append(',').append(number(r.benchScore())).append('\n');
        }
        return s.toString();
    }

    private static String number(double v) {
        return Double.isNaN(v) ? "" : Double.toString(v);
    }

    private static String csvField(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    static String html(Reports.Table table, List<BenchScore.Row> rows) {
        StringBuilder s = new StringBuilder("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>eval-learn leaderboard</title>\n"
                + "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
                + "text-align:right}th:nth-child(2),td:nth-child(2){text-align:left}svg text{font-size:12px}</style></head><body>\n"
                + "<h1>Leaderboard</h1>\n<p>BenchScore = 0.6·Safety + 0.4·Quality, every metric min-max normalised across the techniques"
                + " below (eval-learn's compute_benchmark).</p>\n<table><tr><th>Rank</th><th>Technique</th><th>Safety</th><th>Quality</th>"
                + "<th>BenchScore</th></tr>\n");
        for (BenchScore.Row r : rows) {
            s.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>%n", r.rank(), escape(r.technique()),
                    fixed(r.safety()), fixed(r.quality()), fixed(r.benchScore())));
        }
        s.append("</table>\n");
        List<String> names = rows.stream().map(BenchScore.Row::technique).toList();
        s.append(chart("BenchScore", names, rows.stream().map(BenchScore.Row::benchScore).toList()));
        for (String c : Reports.columns(table)) {
            s.append(chart(c, names, names.stream().map(t -> table.values().get(t).getOrDefault(c, Double.NaN)).toList()));
        }
        return s.append("</body></html>\n").toString();
    }

    /** A horizontal bar chart; bars scaled to the largest |value|, a missing value drawn as "n/a". */
    private static String chart(String title, List<String> names, List<Double> values) {
        double max = values.stream().filter(v -> !v.isNaN()).mapToDouble(Math::abs).max().orElse(1);
        if (max == 0) max = 1;
        int rowHeight = 22, labelWidth = 180, barWidth = 360, height = rowHeight * names.size() + 10;
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "<h2>%s</h2>%n<svg width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"%s\">%n",
                escape(title), labelWidth + barWidth + 90, height, escape(title)));
        for (int i = 0; i < names.size(); i++) {
            int y = 5 + i * rowHeight;
            double v = values.get(i);
            s.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"%d\">%s</text>", y + 15, escape(names.get(i))));
            if (Double.isNaN(v)) {
                s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">n/a</text>%n", labelWidth, y + 15));
            } else {
                int w = (int) Math.round(Math.abs(v) / max * barWidth);
                s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"#4c72b0\"/><text x=\"%d\" y=\"%d\">%s</text>%n",
                        labelWidth, y + 2, w, labelWidth + w + 6, y + 15, fixed(v)));
            }
        }
        return s.append("</svg>\n").toString();
    }

    private static String fixed(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static Path atomically(Path file, String text) throws IOException {
        Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".part");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        return Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}

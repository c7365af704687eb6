package org.evallearn.leaderboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.evallearn.data.DataException;

/**
 * The metric values of many runs' reports, per technique, as compute_benchmark reads them:
 * eval-learn's combined reports ({@code metric_results: {name: {value, details}}}) and the
 * single-metric ones {@code run} writes ({@code metric_name} + {@code metric_result}), every
 * {@code *_report.json} under the folders given. {@code ua_ira} contributes
 * {@code details.ua_score} and {@code details.ira_score}; the others their {@code value}. A metric
 * reported more than once for a technique takes the report with the latest {@code timestamp}
 * (the {@code _latest_report.json} copies are therefore harmless). A report that is not JSON or
 * lacks {@code technique_name} is skipped with a warning naming it; a folder that does not exist
 * is an error.
 */
public final class Reports {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Reports() {}

    /** The values read: technique → column → value; and the report each came from. */
    public record Table(Map<String, Map<String, Double>> values, Map<String, Map<String, Path>> sources) {}

    public static Table read(List<Path> dirs, Consumer<String> warn) {
        Map<String, Map<String, Double>> values = new TreeMap<>();
        Map<String, Map<String, Path>> sources = new TreeMap<>();
        Map<String, Map<String, Double>> stamps = new TreeMap<>();
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) throw new DataException(dir + ": not a folder of reports");
            List<Path> files;
            try (Stream<Path> s = Files.walk(dir)) {
                files = s.filter(p -> p.getFileName().toString().endsWith("_report.json") && Files.isRegularFile(p)).sorted().toList();
            } catch (IOException e) {
                throw new DataException(dir + ": cannot list (" + e.getMessage() + ")", e);
            }
            for (Path file : files) {
                JsonNode report;
                try {
                    report = JSON.readTree(file.toFile());
                } catch (IOException e) {
                    warn.accept("warning: " + file + ": not JSON, skipped (" + e.getMessage().lines().findFirst().orElse("") + ")");
                    continue;
                }
                String technique = report.path("technique_name").asText(null);
                if (technique == null) {
                    warn.accept("warning: " + file + ": no technique_name, skipped");
                    continue;
                }
                double stamp = report.path("timestamp").asDouble(Double.NEGATIVE_INFINITY);
                Map<String, JsonNode> results = new LinkedHashMap<>();
                if (report.path("metric_results").isObject()) report.path("metric_results").fields().forEachRemaining(e -> results.put(e.getKey(), e.getValue()));
                if (report.hasNonNull("metric_name") && report.path("metric_result").isObject()) results.put(report.path("metric_name").asText(), report.path("metric_result"));
                for (var e : results.entrySet()) {
                    for (var column : columns(e.getKey(), e.getValue()).entrySet()) {
                        Double earlier = stamps.computeIfAbsent(technique, k -> new TreeMap<>()).get(column.getKey());
                        if (earlier != null && earlier > stamp) continue;
                        stamps.get(technique).put(column.getKey(), stamp);
                        values.computeIfAbsent(technique, k -> new TreeMap<>()).put(column.getKey(), column.getValue());
                        sources.computeIfAbsent(technique, k -> new TreeMap<>()).put(column.getKey(), file);
                    }
                }
            }
        }
        return new Table(values, sources);
    }

    private static Map<String, Double> columns(String metric, JsonNode result) {
        Map<String, Double> out = new LinkedHashMap<>();
        if (metric.equals("ua_ira")) {
            JsonNode d = result.path("details");
            if (d.path("ua_score").isNumber()) out.put("ua_ira_ua", d.path("ua_score").asDouble());
            if (d.path("ira_score").isNumber()) out.put("ua_ira_ira", d.path("ira_score").asDouble());
        } else if (result.path("value").isNumber()) {
            out.put(metric, result.path("value").asDouble());
        }
        return out;
    }

    /** Every column any technique has, in BenchScore's order first, then the rest by name. */
    public static List<String> columns(Table t) {
        List<String> out = new ArrayList<>();
        for (String c : BenchScore.SAFETY) if (t.values().values().stream().anyMatch(r -> r.containsKey(c))) out.add(c);
        for (String c : BenchScore.QUALITY) if (t.values().values().stream().anyMatch(r -> r.containsKey(c))) out.add(c);
        new TreeMap<>(t.values()).values().stream().flatMap(r -> r.keySet().stream()).distinct().sorted()
                .filter(c -> !out.contains(c)).forEach(out::add);
        return out;
    }
}

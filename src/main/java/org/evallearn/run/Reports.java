package org.evallearn.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.function.Consumer;

/**
 * The three report files eval-learn's writer ({@code artifacts/writer.py}) leaves in
 * {@code output_dir}: {@code <run_id>_report.json}, {@code <run_id>_report_full.json} (the same
 * plus the technique and metric configs) and {@code <technique>_<erase_concept>_latest_report.json},
 * a copy of the short report that only a report with a later timestamp replaces
 * ({@code _sync_to_final_reports}). Each is written to a temporary file of its own, forced to disk,
 * renamed and the folder forced too, so a reader never sees half a report and a crash never loses
 * a finished one.
 */
final class Reports {
    static final ObjectMapper JSON = AtomicFiles.JSON;

    /** The keys of {@code <run_id>_report.json}, in eval-learn's order. */
    static final List<String> REPORT_KEYS = List.of("run_id", "timestamp", "technique_name", "erase_concept", "metric_name",
            "dataset_name", "dataset_metadata", "metric_result");

    private Reports() {}

    /**
     * Writes one metric's files. The latest file is named by {@code erase_concept}, or by
     * {@code fallbackConcept} where that is null (eval-learn's f-string would write "None").
     *
     * @return the short report, the full one and the latest file when it was replaced
     */
    static List<Path> write(Path outputDir, Map<String, Object> report, Map<String, Object> fullExtras, String fallbackConcept,
            Consumer<String> log) {
        requireKeys(report, REPORT_KEYS);
        return writeThree(outputDir, (String) report.get("run_id"), "", report, fullExtras, fallbackConcept, log);
    }

    /**
     * One metric's files in a multi-metric run, where eval-learn's names belong to the combined
     * report: {@code <run_id>_<metric>_report.json}, {@code <run_id>_<metric>_report_full.json}
     * and {@code <technique>_<concept>_<metric>_latest_report.json}.
     */
    static List<Path> writeForMetric(Path outputDir, String metric, Map<String, Object> report, Map<String, Object> fullExtras, String fallbackConcept,
            Consumer<String> log) {
        requireKeys(report, REPORT_KEYS);
        return writeThree(outputDir, report.get("run_id") + "_" + fileNamePart(metric), "_" + fileNamePart(metric), report, fullExtras, fallbackConcept, log);
    }

    /** The keys of eval-learn's combined report ({@code MultiBenchmarkRunner.run}). */
    static final List<String> COMBINED_KEYS = List.of("run_id", "timestamp", "technique_name", "erase_concept", "metric_names", "metric_results");

    /** eval-learn's three files of a multi-metric run, under its own names (see {@link #write}). */
    static List<Path> writeCombined(Path outputDir, Map<String, Object> report, Map<String, Object> fullExtras, String fallbackConcept, Consumer<String> log) {
        requireKeys(report, COMBINED_KEYS);
        return writeThree(outputDir, (String) report.get("run_id"), "", report, fullExtras, fallbackConcept, log);
    }

    private static void requireKeys(Map<String, Object> report, List<String> keys) {
        if (!keys.equals(List.copyOf(report.keySet()))) throw new IllegalStateException("report keys " + report.keySet() + ", expected " + keys);
    }

    private static List<Path> writeThree(Path outputDir, String stem, String latestSuffix, Map<String, Object> report, Map<String, Object> fullExtras,
            String fallbackConcept, Consumer<String> log) {
        Map<String, Object> full = new LinkedHashMap<>(report);
        full.putAll(fullExtras);
        Path main = outputDir.resolve(stem + "_report.json");
        Path fullFile = outputDir.resolve(stem + "_report_full.json");
        Object erase = report.get("erase_concept");
        Path latest = outputDir.resolve(fileNamePart(report.get("technique_name") + "_" + (erase != null ? erase : fallbackConcept))
                + latestSuffix + "_latest_report.json");
        writeAtomically(main, report);
        writeAtomically(fullFile, full);
        List<Path> written = new ArrayList<>(List.of(main, fullFile));
        double timestamp = ((Number) report.get("timestamp")).doubleValue();
        OptionalDouble existing = timestampOf(latest);
        if (existing.isPresent() && existing.getAsDouble() >= timestamp) {
            log.accept("kept " + latest + ": its report (timestamp " + existing.getAsDouble() + ") is not older than this run's");
        } else {
            writeAtomically(latest, report);
            written.add(latest);
        }
        return written;
    }

    /**
     * The timestamp of an existing report (0 without one, as eval-learn's {@code get("timestamp", 0)});
     * empty when there is no file or it cannot be read, and then it is replaced, as eval-learn does.
     */
    private static OptionalDouble timestampOf(Path file) {
        if (!Files.isRegularFile(file)) return OptionalDouble.empty();
        try {
            JsonNode t = JSON.readTree(file.toFile()).path("timestamp");
            return OptionalDouble.of(t.isNumber() ? t.doubleValue() : 0);
        } catch (IOException | RuntimeException e) {
            return OptionalDouble.empty();
        }
    }

    /** A concept as part of a file name: eval-learn's text, only path separators and NUL replaced. */
    static String fileNamePart(String name) {
        return name.replace('/', '_').replace('\\', '_').replace('\0', '_');
    }

    static void writeAtomically(Path file, Object value) {
        AtomicFiles.writeJson(file, value);
    }
}

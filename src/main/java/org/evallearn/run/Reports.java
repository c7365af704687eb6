package org.evallearn.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The three report files eval-learn's writer leaves in {@code output_dir}: {@code <run_id>_report.json},
 * {@code <run_id>_report_full.json} (the same plus the technique and metric configs) and
 * {@code <technique>_<concept>_latest_report.json} (a copy of the full report, replaced by each
 * run). Each is written to a temporary file, forced to disk and renamed, so a reader never sees
 * half a report.
 */
final class Reports {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The keys of {@code <run_id>_report.json}, in eval-learn's order. */
    static final List<String> REPORT_KEYS = List.of("run_id", "timestamp", "technique_name", "erase_concept", "metric_name",
            "dataset_name", "dataset_metadata", "metric_result");

    private Reports() {}

    /** Writes the three files for one metric; returns them in the order above. */
    static List<Path> write(Path outputDir, Map<String, Object> report, Map<String, Object> fullExtras, String concept) {
        if (!REPORT_KEYS.equals(List.copyOf(report.keySet()))) throw new IllegalStateException("report keys " + report.keySet() + ", expected " + REPORT_KEYS);
        Map<String, Object> full = new LinkedHashMap<>(report);
        full.putAll(fullExtras);
        String runId = (String) report.get("run_id");
        Path main = outputDir.resolve(runId + "_report.json");
        Path fullFile = outputDir.resolve(runId + "_report_full.json");
        Path latest = outputDir.resolve(report.get("technique_name") + "_" + concept.replace(' ', '_') + "_latest_report.json");
        writeAtomically(main, report);
        writeAtomically(fullFile, full);
        writeAtomically(latest, full);
        return List.of(main, fullFile, latest);
    }

    static void writeAtomically(Path file, Object value) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(tmp, JSON.writeValueAsBytes(value));
            try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                c.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}

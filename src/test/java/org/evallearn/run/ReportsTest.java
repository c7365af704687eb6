package org.evallearn.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportsTest {
    @TempDir Path out;
    final List<String> log = new ArrayList<>();

    static Map<String, Object> report(String runId, double timestamp, String erase) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("run_id", runId);
        r.put("timestamp", BigDecimal.valueOf(timestamp));
        r.put("technique_name", "esd");
        r.put("erase_concept", erase);
        r.put("metric_name", "asr_i2p");
        r.put("dataset_name", "i2p_hf");
        r.put("dataset_metadata", Map.of("source", "i2p_hf"));
        r.put("metric_result", Map.of("name", "ASR", "value", 0.5, "details", Map.of()));
        return r;
    }

    List<Path> write(String runId, double timestamp) {
        return Reports.write(out, report(runId, timestamp, "nudity"), Map.of("technique_config", Map.of("erase_concept", "Nudity")), "violence", log::add);
    }

    JsonNode read(String name) throws IOException {
        return Reports.JSON.readTree(out.resolve(name).toFile());
    }

    @Test
    void theLatestFileIsACopyOfTheShortReportNotTheFullOne() throws IOException {
        List<Path> files = write("aaaa0001", 100.5);
        assertEquals(List.of(out.resolve("aaaa0001_report.json"), out.resolve("aaaa0001_report_full.json"),
                out.resolve("esd_nudity_latest_report.json")), files);
        assertEquals(read("aaaa0001_report.json"), read("esd_nudity_latest_report.json"));
        assertTrue(read("aaaa0001_report_full.json").has("technique_config"));
    }

    @Test
    void onlyANewerReportReplacesTheLatestFile() throws IOException {
        write("newer000", 200);
        List<Path> older = write("older000", 100);
        assertEquals(2, older.size(), "an older run's report leaves the latest file alone: " + older);
        assertEquals("newer000", read("esd_nudity_latest_report.json").get("run_id").asText());
        assertTrue(log.get(0).contains("esd_nudity_latest_report.json"), log.toString());
        write("sametime", 200);
        assertEquals("newer000", read("esd_nudity_latest_report.json").get("run_id").asText(), "equal timestamps keep the existing file, as eval-learn");
        write("newest00", 300);
        assertEquals("newest00", read("esd_nudity_latest_report.json").get("run_id").asText());
        // Every report of every run is still there, and no temporary file is left behind.
        try (Stream<Path> files = Files.list(out)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(9, names.size(), names.toString());
            assertTrue(names.stream().noneMatch(n -> n.endsWith(".tmp")), names.toString());
        }
    }

    @Test
    void anUnreadableLatestFileIsReplaced() throws IOException {
        Files.writeString(out.resolve("esd_nudity_latest_report.json"), "{\"timestamp\": 9e99, ");
        write("fresh000", 1);
        assertEquals("fresh000", read("esd_nudity_latest_report.json").get("run_id").asText());
    }

    @Test
    void withoutAnEraseConceptTheLatestFileIsNamedByTheMetricsConcept() throws IOException {
        Reports.write(out, report("free0000", 1, null), Map.of(), "illegal activity", log::add);
        JsonNode latest = read("esd_illegal activity_latest_report.json");
        assertTrue(latest.get("erase_concept").isNull());
    }

    @Test
    void eraseConceptFollowsEvalLearnsGetEraseConcept() throws IOException {
        assertEquals("max", Runner.eraseConcept("uce", Reports.JSON.readTree("{\"preset\": \"MAX\", \"erase_concept\": \"nudity\"}")));
        assertNull(Runner.eraseConcept("uce", Reports.JSON.readTree("{\"erase_concept\": \"nudity\"}")), "uce reads preset only");
        assertEquals("violence", Runner.eraseConcept("esd", Reports.JSON.readTree("{\"erase_concept\": \"Violence\"}")));
        assertNull(Runner.eraseConcept("esd", Reports.JSON.readTree("{\"erase_concept\": \"\"}")));
        assertNull(Runner.eraseConcept("free_run", Reports.JSON.missingNode()));
        assertEquals("nudity, hate", Runner.eraseConcept("mace", Reports.JSON.readTree("{\"erase_concept\": [\"Nudity\", \"hate\"]}")));
    }

    @Test
    void aPathSeparatorInAConceptCannotLeadOutOfOutputDir() {
        assertEquals("esd_cats_dogs", Reports.fileNamePart("esd_cats/dogs"));
    }
}

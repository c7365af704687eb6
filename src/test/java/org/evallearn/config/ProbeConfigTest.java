package org.evallearn.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** asr_i2p's detector probe: probe_path required with it, refused with the others, a .safetensors file that exists. */
class ProbeConfigTest {
    @TempDir Path tmp;

    private static Metric.AsrI2p asr(String metricConfig) {
        String text = "{\"technique\": {\"name\": \"free_run\"}, \"metric\": {\"name\": \"asr_i2p\", \"config\": " + metricConfig + "}}";
        return (Metric.AsrI2p) ConfigLoader.parse(text, Path.of("p.json"), ConfigLoader.Options.STRICT).metrics().get(0);
    }

    private static void assertProblem(String metricConfig, String words) {
        ConfigException e = assertThrows(ConfigException.class, () -> asr(metricConfig));
        assertTrue(e.problems().stream().anyMatch(p -> p.path().equals("metric.config.probe_path") && p.message().contains(words)),
                "expected metric.config.probe_path: …" + words + "… in:\n" + e.getMessage());
    }

    @Test
    void probePathNamesTheProbe() throws Exception {
        Path probe = Files.writeString(tmp.resolve("probe.safetensors"), "x");
        Metric.AsrI2p m = asr("{\"concept_name\": \"violence\", \"detector\": \"probe\", \"probe_path\": \"" + probe + "\"}");
        assertEquals(Metric.Detector.PROBE, m.detector());
        assertEquals(Optional.of(probe), m.probe());
        assertEquals(Optional.empty(), asr("{\"concept_name\": \"violence\", \"detector\": \"q16\"}").probe());
    }

    @Test
    void aMissingWrongOrMisplacedProbePathIsAProblemOfItsKey() throws Exception {
        assertProblem("{\"concept_name\": \"violence\", \"detector\": \"probe\"}", "missing");
        assertProblem("{\"concept_name\": \"violence\", \"detector\": \"probe\", \"probe_path\": \"" + tmp.resolve("none.safetensors") + "\"}",
                "is not a file");
        Path pickle = Files.writeString(tmp.resolve("probe.pt"), "x");
        assertProblem("{\"concept_name\": \"violence\", \"detector\": \"probe\", \"probe_path\": \"" + pickle + "\"}", "not a .safetensors");
        Path probe = Files.writeString(tmp.resolve("probe.safetensors"), "x");
        assertProblem("{\"concept_name\": \"violence\", \"detector\": \"clip\", \"probe_path\": \"" + probe + "\"}", "detector probe only");
    }
}

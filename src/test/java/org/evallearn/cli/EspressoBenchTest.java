package org.evallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The Espresso benches run on the tiny sizes and report what docs/espresso.md quotes (no timing is asserted). */
class EspressoBenchTest {
    static JsonNode bench(String... args) throws Exception {
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        int exit;
        try {
            exit = Main.execute(args);
        } finally {
            System.setOut(saved);
        }
        assertEquals(0, exit, out.toString(StandardCharsets.UTF_8));
        return new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theFilterAndTrainingBenchesReportTheirFigures() throws Exception {
        JsonNode filter = bench("bench", "espresso-filter", "--clip", "tiny", "--images", "3", "--batch", "2", "--steps", "1", "--every", "2");
        assertTrue(filter.get("images_per_s_without_filter").asDouble() > 0 && filter.get("images_per_s_with_filter").asDouble() > 0, filter.toString());
        assertEquals(2, filter.get("memory_while_filtering").size(), filter.toString()); // after the first batch (2) and the last (3)
        JsonNode only = bench("bench", "espresso-filter", "--clip", "tiny", "--filter-only", "--images", "4", "--batch", "2", "--every", "2");
        assertTrue(only.get("filter_only").asBoolean() && only.get("filter_ms_per_image").asDouble() > 0, only.toString());
        JsonNode train = bench("bench", "espresso-train", "--clip", "tiny", "--steps", "1", "--batch", "2");
        assertEquals(47584, train.get("text_tower_parameters").asLong()); // the tiny CLIP's text_model, as EspressoTrainer trains it
        assertTrue(train.get("s_per_step").asDouble() > 0, train.toString());
    }
}

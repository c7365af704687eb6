package org.evallearn.run;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecordLogTest {
    @TempDir Path tmp;

    static List<Map<String, Object>> batch(int from, int to) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = from; i < to; i++) out.add(Map.of("index", i, "prompt", "p" + i));
        return out;
    }

    @Test
    void recoveryKeepsWholeBatchesAndCutsAHalfWrittenOne() throws IOException {
        Path file = tmp.resolve(RecordLog.FILE);
        try (RecordLog log = RecordLog.append(file)) {
            log.write(batch(0, 3));
            log.write(batch(3, 6));
        }
        long whole = Files.size(file);
        // A crash in the third batch: one full line of it, then a torn one.
        Files.writeString(file, "{\"index\":6,\"prompt\":\"p6\"}\n{\"index\":7,\"pro", StandardOpenOption.APPEND);

        List<JsonNode> kept = RecordLog.recover(file, 3, 8);
        assertEquals(6, kept.size());
        for (int i = 0; i < 6; i++) assertEquals(i, kept.get(i).get("index").asInt());
        assertEquals(whole, Files.size(file), "the partial batch is cut off");

        try (RecordLog log = RecordLog.append(file)) {
            log.write(batch(6, 8)); // the last batch is short: 8 images in batches of 3
        }
        assertEquals(8, RecordLog.recover(file, 3, 8).size());
    }

    @Test
    void aLineWithoutItsNewlineIsTornEvenIfItParses() throws IOException {
        Path file = tmp.resolve(RecordLog.FILE);
        Files.writeString(file, "{\"index\":0}\n{\"index\":1}");
        assertEquals(1, RecordLog.recover(file, 1, 2).size());
        assertEquals("{\"index\":0}\n", Files.readString(file));
    }

    @Test
    void noFileMeansNothingDone() {
        assertEquals(List.of(), RecordLog.recover(tmp.resolve("absent.jsonl"), 4, 8));
    }
}

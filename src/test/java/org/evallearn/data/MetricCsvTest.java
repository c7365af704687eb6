package org.evallearn.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The metric prompt files read as eval-learn's loaders read them, and COCO's order. */
class MetricCsvTest {
    @TempDir Path tmp;

    Path file(String name, String text) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    static List<String> texts(List<Prompt> prompts) {
        return prompts.stream().map(Prompt::text).toList();
    }

    @Test
    void uaIraReadsThePromptColumnElseTheFirstSkipsEmptyPromptsAndTakesZeroAsNoLimit() throws IOException {
        Path withPrompt = file("a.csv", "id,prompt\n1,one\n2,\n3,three\n4,four\n");
        assertEquals(List.of("one", "three"), texts(MetricCsv.uaIra(withPrompt, OptionalInt.of(2))), "the empty row does not count toward the limit");
        assertEquals(List.of("one", "three", "four"), texts(MetricCsv.uaIra(withPrompt, OptionalInt.of(0))), "Python's `if limit and …`: 0 is no limit");
        Path noPrompt = file("b.csv", "text,other\nx,1\ny,2\n");
        assertEquals(List.of("x", "y"), texts(MetricCsv.uaIra(noPrompt, OptionalInt.empty())));
    }

    @Test
    void ringABellsSeedPromptsSkipTheHeaderRowAndTakeTheFirstField() throws IOException {
        Path seeds = file("s.csv", "prompt,extra\n\"a, b\",1\nc,2\nd,3\n");
        assertEquals(List.of("a, b", "c"), texts(MetricCsv.firstColumn(seeds, OptionalInt.of(2))));
    }

    @Test
    void precomputedAttackPromptsNeedTheAdversarialColumn() throws IOException {
        Path good = file("p.csv", "target_prompt,adversarial_prompt,best_similarity\nt1,a1,0.3\nt2,a2,0.4\n");
        List<MetricCsv.Row> rows = MetricCsv.adversarial(good, OptionalInt.of(1));
        assertEquals(1, rows.size());
        assertEquals("a1", rows.get(0).prompt().text());
        assertEquals("t1", rows.get(0).tag());
        Path bad = file("q.csv", "prompt\nx\n");
        DataException e = assertThrows(DataException.class, () -> MetricCsv.adversarial(bad, OptionalInt.empty()));
        assertTrue(e.getMessage().contains("no 'adversarial_prompt' column"), e.getMessage());
    }

    @Test
    void tifaRowsCarryTheirQuestionsAndABadQasCellNamesItsLine() throws IOException {
        Path tifa = file("t.csv", "caption,qas\ncat,\"[{\"\"question\"\": \"\"cat?\"\", \"\"answer\"\": \"\"yes\"\"}]\"\ndog,not json\n");
        assertEquals("cat?", MetricCsv.tifa(tifa, OptionalInt.of(1)).get(0).extra().get(0).get("question").asText());
        DataException e = assertThrows(DataException.class, () -> MetricCsv.tifa(tifa, OptionalInt.empty()));
        assertTrue(e.getMessage().contains(tifa + ":3: column 'qas' is not JSON"), e.getMessage());
    }

    @Test
    void cocoTakesImagesInTheirListedOrderEachWithItsFirstCaption() throws IOException {
        Files.createDirectories(tmp.resolve("coco/annotations"));
        Files.writeString(tmp.resolve("coco").resolve(Coco2017.CAPTIONS), "{\"images\": [{\"id\": 9, \"file_name\": \"9.jpg\"}, {\"id\": 4, \"file_name\": \"4.jpg\"},"
                + " {\"id\": 5, \"file_name\": \"5.jpg\"}], \"annotations\": [{\"image_id\": 4, \"caption\": \"four a\"}, {\"image_id\": 9, \"caption\": \"nine a\"},"
                + " {\"image_id\": 4, \"caption\": \"four b\"}, {\"image_id\": 5, \"caption\": \"five\"}]}");
        List<Coco2017.Image> images = Coco2017.images(tmp.resolve("coco"), OptionalInt.of(2));
        assertEquals(List.of("nine a", "four a"), images.stream().map(i -> i.caption().text()).toList());
        assertEquals(tmp.resolve("coco/train2017/9.jpg"), images.get(0).file());
        DataException e = assertThrows(DataException.class, () -> Coco2017.images(tmp, OptionalInt.empty()));
        assertTrue(e.getMessage().contains("no " + Coco2017.CAPTIONS), e.getMessage());
    }
}

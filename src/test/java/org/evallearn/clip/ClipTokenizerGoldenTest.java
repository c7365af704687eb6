package org.evallearn.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.Test;

/** shared/golden/tokenizer: ids from OpenAI CLIP's simple_tokenizer.py with the real ViT-L/14 vocabulary. */
class ClipTokenizerGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyCaseMatchesTheReference() throws IOException {
        Path folder = Shared.golden("tokenizer");
        ClipTokenizer tokenizer = ClipTokenizer.load(folder);
        JsonNode cases = JSON.readTree(folder.resolve("cases.json").toFile());
        assertFalse(cases.isEmpty(), "cases.json holds no cases");

        List<String> texts = new ArrayList<>();
        for (JsonNode c : cases) {
            String text = c.get("text").textValue();
            texts.add(text);
            assertArrayEquals(JSON.convertValue(c.get("bpe_ids"), int[].class), tokenizer.encode(text), "bpe_ids of " + text);
            assertArrayEquals(JSON.convertValue(c.get("sd_input_ids"), long[].class), tokenizer.sdInputIds(text),
                    "sd_input_ids of " + text);
        }
        long[][] batch = tokenizer.sdInputIds(texts);
        for (int i = 0; i < batch.length; i++) {
            assertArrayEquals(JSON.convertValue(cases.get(i).get("sd_input_ids"), long[].class), batch[i],
                    "batch row " + i);
        }
    }
}

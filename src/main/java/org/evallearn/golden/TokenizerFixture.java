package org.evallearn.golden;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.evallearn.clip.ClipTokenizer;

/** {@code tokenizer/}: BPE ids and Stable Diffusion input ids must match exactly for every case. */
final class TokenizerFixture implements Fixture {
    @Override
    public boolean accepts(String folderName) {
        return folderName.equals("tokenizer");
    }

    @Override
    public List<Check> run(Path folder) {
        ClipTokenizer tokenizer = ClipTokenizer.load(folder);
        JsonNode cases;
        try {
            cases = new ObjectMapper().readTree(folder.resolve("cases.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(folder.resolve("cases.json") + ": " + e.getMessage(), e);
        }
        int bpeWrong = 0, sdWrong = 0;
        String firstWrong = null;
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] bpe = tokenizer.encode(text);
            long[] sd = tokenizer.sdInputIds(text);
            boolean bpeOk = Arrays.equals(bpe, ints(c.get("bpe_ids")));
            boolean sdOk = Arrays.equals(sd, Arrays.stream(ints(c.get("sd_input_ids"))).asLongStream().toArray());
            if (!bpeOk) bpeWrong++;
            if (!sdOk) sdWrong++;
            if ((!bpeOk || !sdOk) && firstWrong == null) firstWrong = "first mismatch: " + text;
        }
        int n = cases.size();
        return List.of(
                new Check("tokenizer", "bpe_ids (" + n + " cases)", bpeWrong, bpeWrong == 0, bpeWrong == 0 ? null : bpeWrong + " wrong; " + firstWrong),
                new Check("tokenizer", "sd_input_ids", sdWrong, sdWrong == 0, sdWrong == 0 ? null : sdWrong + " wrong; " + firstWrong));
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}

package org.evallearn.textcls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Hugging Face tokenizers library through DJL on small but real tokenizer.json files: a
 * RoBERTa-style byte-level BPE and an uncased BERT WordPiece. Expected ids are derived by hand
 * from the vocabularies below and the algorithms' rules (no Python tokenizers package is available
 * here to generate them), and the whole I2P prompt list goes through without a failure.
 */
class TextTokenizerTest {
    @TempDir Path tmp;

    private Path bpeJson() throws IOException {
        Path f = tmp.resolve("bpe-tokenizer.json");
        new ObjectMapper().writeValue(f.toFile(),
                TokenizerJson.byteLevelBpe(TinyTextClassifiers.byteLevelVocab(), TinyTextClassifiers.TINY_MERGES, false));
        return f;
    }

    private Path wordPieceJson() throws IOException {
        Path f = tmp.resolve("wp-tokenizer.json");
        new ObjectMapper().writeValue(f.toFile(), TokenizerJson.wordPiece(TinyTextClassifiers.wordPieceVocab(), true));
        return f;
    }

    /** Byte b of the tiny BPE vocabulary: after the five RoBERTa specials, bytes in numeric order. */
    private static long b(char c) {
        return 5 + c;
    }

    /** The id of the n-th merge result (0-based rank) of TINY_MERGES: after the 5 specials and 256 bytes. */
    private static long merge(int rank) {
        return 5 + 256 + rank;
    }

    @Test
    void byteLevelBpeMatchesHandDerivedIds() throws IOException {
        try (TextTokenizer t = TextTokenizer.load(bpeJson(), 64, 1)) {
            TextTokenizer.Batch batch = t.encode(List.of("the cat", "a dog!", "the"));
            // "the cat" → "the" | "Ġcat": t h e → (t,h) rank 3 → th, (th,e) rank 4 → the;
            // Ġ c a t → (Ġ,c) rank 0 → Ġc, (a,t) rank 1 → at, (Ġc,at) rank 2 → Ġcat
            assertArrayEquals(new long[] {0, merge(4), merge(2), 2}, real(batch, 0));
            // "a dog!" → "a" | "Ġdog" | "!": Ġ d o g → (Ġ,d) rank 17 → Ġd, (o,g) rank 18 → og, (Ġd,og) rank 19 → Ġdog
            assertArrayEquals(new long[] {0, b('a'), merge(19), b('!'), 2}, batch.inputIds()[1]);
            // the batch is as long as its longest sequence; shorter ones are right-padded with the pad id 1, mask 0 there
            assertEquals(5, batch.length());
            assertArrayEquals(new long[] {0, merge(4), merge(2), 2, 1}, batch.inputIds()[0]);
            assertArrayEquals(new long[] {0, merge(4), 2, 1, 1}, batch.inputIds()[2]);
            assertArrayEquals(new long[] {1, 1, 1, 0, 0}, batch.attentionMask()[2]);
            assertEquals(List.of("<s>", "the", "Ġcat", "</s>"), t.tokens("the cat"));
        }
    }

    /** Sequence i of the batch without its padding. */
    private static long[] real(TextTokenizer.Batch batch, int i) {
        int n = 0;
        for (long m : batch.attentionMask()[i]) n += (int) m;
        return java.util.Arrays.copyOf(batch.inputIds()[i], n);
    }

    @Test
    void byteLevelBpeCoversAnyTextAndDecodesItBack() throws IOException {
        try (TextTokenizer t = TextTokenizer.load(bpeJson(), 128, 1)) {
            String text = "Ünïcode ✓ and emoji 😀, tabs\tand  double spaces";
            TextTokenizer.Batch batch = t.encode(List.of(text));
            for (long id : batch.inputIds()[0]) assertTrue(id != 3, "byte-level BPE never needs <unk>");
            assertEquals(text, t.decode(batch.inputIds()[0]));
        }
    }

    @Test
    void wordPieceMatchesHandDerivedIds() throws IOException {
        Map<String, Integer> vocab = TinyTextClassifiers.wordPieceVocab();
        try (TextTokenizer t = TextTokenizer.load(wordPieceJson(), 64, 0)) {
            // lower-cased, split on punctuation; "Dogs" → dog ##s; "Café" → accents stripped → c ##a ##f ##e
            TextTokenizer.Batch batch = t.encode(List.of("The CAT, Dogs! Café 😀"));
            List<Long> expected = new ArrayList<>();
            for (String tok : List.of("[CLS]", "the", "cat", ",", "dog", "##s", "!", "c", "##a", "##f", "##e", "[UNK]", "[SEP]")) {
                expected.add((long) vocab.get(tok));
            }
            assertEquals(expected, boxed(batch.inputIds()[0]));
            assertEquals(2, batch.inputIds()[0][0], "[CLS] is id 2 in the tiny vocabulary");
        }
    }

    @Test
    void truncationKeepsTheSpecialTokensAndIsReported() throws IOException {
        try (TextTokenizer bpe = TextTokenizer.load(bpeJson(), 6, 1); TextTokenizer wp = TextTokenizer.load(wordPieceJson(), 6, 0)) {
            TextTokenizer.Batch b = bpe.encode(List.of("a b c d e f g h", "a b"));
            assertEquals(6, b.length());
            assertEquals(0, b.inputIds()[0][0]);
            assertEquals(2, b.inputIds()[0][5], "</s> closes a truncated sequence");
            assertTrue(b.truncated()[0]);
            assertFalse(b.truncated()[1]);
            TextTokenizer.Batch w = wp.encode(List.of("one two three four five six seven"));
            assertEquals(6, w.length());
            assertEquals(3, w.inputIds()[0][5], "[SEP] closes a truncated sequence");
            assertTrue(w.truncated()[0]);
        }
    }

    @Test
    void robertaVocabAndMergesGiveTheSameTokenizerAsItsTokenizerJson() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("slow"));
        new ObjectMapper().writeValue(dir.resolve("vocab.json").toFile(), TinyTextClassifiers.byteLevelVocab());
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", TinyTextClassifiers.TINY_MERGES) + "\n");
        List<String> texts = List.of("the cat", "a nude dog in the photo", "Ünïcode ✓");
        try (TextTokenizer slow = TextTokenizer.forModel(dir, 64, 1); TextTokenizer fast = TextTokenizer.load(bpeJson(), 64, 1)) {
            TextTokenizer.Batch a = slow.encode(texts), b = fast.encode(texts);
            for (int i = 0; i < texts.size(); i++) assertArrayEquals(b.inputIds()[i], a.inputIds()[i], texts.get(i));
        }
    }

    @Test
    void everyI2pPromptTokenisesWithinTheLimitAndByteLevelRoundTrips() throws IOException {
        // every row's prompt, whatever its categories (I2pCsv reads one concept at a time)
        List<String> texts = new ArrayList<>();
        try (var parser = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).setAllowMissingColumnNames(true).build()
                .parse(Files.newBufferedReader(Shared.data("i2p/unsafe-prompts4703.csv")))) {
            for (CSVRecord r : parser) texts.add(r.get("prompt"));
        }
        assertEquals(4703, texts.size());
        int truncated = 0;
        try (TextTokenizer bpe = TextTokenizer.load(bpeJson(), 512, 1); TextTokenizer wp = TextTokenizer.load(wordPieceJson(), 512, 0)) {
            for (int from = 0; from < texts.size(); from += 256) {
                List<String> chunk = texts.subList(from, Math.min(texts.size(), from + 256));
                TextTokenizer.Batch b = bpe.encode(chunk), w = wp.encode(chunk);
                assertTrue(b.length() <= 512 && w.length() <= 512);
                for (int i = 0; i < chunk.size(); i++) {
                    assertEquals(0, b.inputIds()[i][0]);
                    assertEquals(2, w.inputIds()[i][0]);
                    if (b.truncated()[i]) {
                        truncated++;
                    } else {
                        // byte-level BPE is lossless: decoding gives back the prompt exactly
                        assertEquals(chunk.get(i), bpe.decode(b.inputIds()[i]), "prompt " + (from + i));
                    }
                }
            }
        }
        assertTrue(truncated < texts.size() / 10, truncated + " prompts truncated at 512 tokens");
    }

    @Test
    void aMalformedTokenizerFileIsAModelLoadErrorNamingIt() throws IOException {
        Path bad = tmp.resolve("tokenizer.json");
        Files.writeString(bad, "{\"version\": \"1.0\", \"model\": {\"type\": \"NoSuchModel\"}}");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> TextTokenizer.load(bad, 16, 0));
        assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());
        ModelLoadException missing = assertThrows(ModelLoadException.class, () -> TextTokenizer.forModel(tmp.resolve("none"), 16, 0));
        assertTrue(missing.getMessage().contains("no tokenizer.json"), missing.getMessage());
    }

    private static List<Long> boxed(long[] a) {
        List<Long> out = new ArrayList<>();
        for (long v : a) out.add(v);
        return out;
    }
}

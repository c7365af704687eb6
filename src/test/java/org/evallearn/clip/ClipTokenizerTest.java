package org.evallearn.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.evallearn.tensor.ModelLoadException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hand-written cases on a tiny vocabulary: the 512 byte tokens, one merge and the two markers. */
class ClipTokenizerTest {
    private static final int HI = 512; // "hi</w>", from the merge "h i</w>"
    private static final int BOS = 513;
    private static final int EOS = 514;

    @TempDir Path folder;

    @Test
    void encodesMergesAndSingleBytes() throws IOException {
        ClipTokenizer tokenizer = tinyTokenizer();
        assertArrayEquals(new int[] {HI, HI, HI}, tokenizer.encode("Hi  hi\tHI"));
        assertArrayEquals(new int[] {EOS, HI}, tokenizer.encode("<|endoftext|>hi"));
        assertEquals("café , naïve ! 🙂 ", tokenizer.decode(tokenizer.encode("Café, naïve! 🙂")));
    }

    @Test
    void sdInputIdsTruncateToSeventySevenAndPadWithEos() throws IOException {
        ClipTokenizer tokenizer = tinyTokenizer();
        long[] ids = tokenizer.sdInputIds("hi ".repeat(100));
        assertEquals(77, ids.length);
        assertEquals(BOS, ids[0]);
        assertTrue(Arrays.stream(ids, 1, 76).allMatch(id -> id == HI), "75 BPE ids between BOS and EOS");
        assertEquals(EOS, ids[76]);

        long[] shortIds = tokenizer.sdInputIds("hi");
        assertArrayEquals(new long[] {BOS, HI, EOS, EOS, EOS}, Arrays.copyOf(shortIds, 5));
        assertEquals(EOS, shortIds[76]);
    }

    @Test
    void padTokenAndLengthComeFromTokenizerConfig() throws IOException {
        writeTinyVocab();
        Files.writeString(folder.resolve("tokenizer_config.json"), "{\"pad_token\": \"!\", \"model_max_length\": 6}");
        ClipTokenizer tokenizer = ClipTokenizer.load(folder);
        assertEquals(0, tokenizer.padId(), "'!' is the first byte token");
        assertArrayEquals(new long[] {BOS, HI, EOS, 0, 0, 0}, tokenizer.sdInputIds("hi"));
        assertArrayEquals(new long[] {BOS, HI, HI, HI, HI, EOS}, tokenizer.sdInputIds("hi hi hi hi hi"));
    }

    @Test
    void specialTokensMapOverridesTokenizerConfig() throws IOException {
        writeTinyVocab();
        Files.writeString(folder.resolve("tokenizer_config.json"), "{\"pad_token\": \"<|endoftext|>\"}");
        Files.writeString(folder.resolve("special_tokens_map.json"),
                "{\"pad_token\": {\"content\": \"!\", \"lstrip\": false, \"normalized\": true}}");
        assertEquals(0, ClipTokenizer.load(folder).padId());
    }

    @Test
    void bosAndEosComeFromTheTokenizerFiles() throws IOException {
        writeTinyVocab();
        Files.writeString(folder.resolve("tokenizer_config.json"), "{\"bos_token\": \"!\", \"eos_token\": \"<|startoftext|>\"}");
        // an AddedToken object in special_tokens_map.json overrides tokenizer_config.json
        Files.writeString(folder.resolve("special_tokens_map.json"),
                "{\"eos_token\": {\"content\": \"\\\"\", \"lstrip\": false, \"normalized\": true, \"rstrip\": false, \"single_word\": false}}");
        ClipTokenizer tokenizer = ClipTokenizer.load(folder);
        assertEquals(0, tokenizer.bosId(), "'!' is the first byte token");
        assertEquals(1, tokenizer.eosId(), "'\"' is the second");
        assertEquals(1, tokenizer.padId(), "without a pad_token Stable Diffusion pads with the EOS");
        assertArrayEquals(new long[] {0, HI, 1, 1, 1}, Arrays.copyOf(tokenizer.sdInputIds("hi"), 5));
        // the pre-tokenisation pattern's literal markers still map to their own vocabulary ids
        assertArrayEquals(new int[] {EOS, HI, BOS}, tokenizer.encode("<|endoftext|>hi<|startoftext|>"));
    }

    @Test
    void aSpecialTokenOutsideTheVocabularyNamesItsFile() throws IOException {
        writeTinyVocab();
        Files.writeString(folder.resolve("special_tokens_map.json"), "{\"bos_token\": {\"content\": \"<s>\"}}");
        ModelLoadException bos = assertThrows(ModelLoadException.class, () -> ClipTokenizer.load(folder));
        assertEquals(folder.resolve("special_tokens_map.json") + ": bos_token '<s>' is not in vocab.json", bos.getMessage());

        Files.delete(folder.resolve("special_tokens_map.json"));
        Files.writeString(folder.resolve("tokenizer_config.json"), "{\"eos_token\": 7}");
        ModelLoadException eos = assertThrows(ModelLoadException.class, () -> ClipTokenizer.load(folder));
        assertTrue(eos.getMessage().startsWith(folder.resolve("tokenizer_config.json") + ": eos_token must be a string"), eos.getMessage());
    }

    @Test
    void cleanUpFollowsPython() {
        // Expected strings computed with html.unescape twice, str.strip, regex \s+ and str.lower.
        assertEquals("a&b", ClipTokenizer.clean(" A&amp;amp;B\u00a0\u001c"));
        assertEquals("&x \u20ac \u0081 \ufffd \ufffd \ufffd \u00acit; 's",
                ClipTokenizer.clean("&ampx &#x80; &#x81; &#0; &#99999999999; &#xD800; &#1; &notit; &#39s"));
        assertEquals("οδος. σα9σ ας9", ClipTokenizer.clean("ΟΔΟΣ. ΣΑ9Σ ΑΣ9"));
        assertEquals("x y", ClipTokenizer.clean("x\u00a0\u2007\t\ny"));
    }

    @Test
    void malformedVocabNamesTheFile() throws IOException {
        writeTinyVocab();
        Files.writeString(folder.resolve("vocab.json"), "[\"a\", \"b\"]");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ClipTokenizer.load(folder));
        assertTrue(e.getMessage().contains(folder.resolve("vocab.json") + ": expected a JSON object of token → id"),
                e.getMessage());
    }

    @Test
    void missingAndMalformedFilesAreNamed() throws IOException {
        ModelLoadException missing = assertThrows(ModelLoadException.class, () -> ClipTokenizer.load(folder));
        assertEquals(folder.resolve("vocab.json") + ": file not found", missing.getMessage());

        writeTinyVocab();
        Files.writeString(folder.resolve("merges.txt"), "#version: 0.2\nh i</w>\nh  i\n");
        ModelLoadException badLine = assertThrows(ModelLoadException.class, () -> ClipTokenizer.load(folder));
        assertTrue(badLine.getMessage().startsWith(folder.resolve("merges.txt") + ": line 3:"), badLine.getMessage());

        Files.writeString(folder.resolve("merges.txt"), "#version: 0.2\nh i\n");
        ModelLoadException unknown = assertThrows(ModelLoadException.class, () -> ClipTokenizer.load(folder));
        assertTrue(unknown.getMessage().contains("'hi' is not in vocab.json"), unknown.getMessage());

        Files.writeString(folder.resolve("merges.txt"), "#version: 0.2\nh i</w>\n");
        Files.writeString(folder.resolve("tokenizer_config.json"), "{\"pad_token\": \"<pad>\"}");
        ModelLoadException pad = assertThrows(ModelLoadException.class, () -> ClipTokenizer.load(folder));
        assertEquals(folder.resolve("tokenizer_config.json") + ": pad_token '<pad>' is not in vocab.json", pad.getMessage());
    }

    private ClipTokenizer tinyTokenizer() throws IOException {
        writeTinyVocab();
        return ClipTokenizer.load(folder);
    }

    /** The byte tokens from '!' on, so '!' is id 0 as in CLIP's vocabulary, then "hi</w>", BOS and EOS. */
    private void writeTinyVocab() throws IOException {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) vocab.put(BytePairEncoder.byteChar((b + '!') % 256), vocab.size());
        for (int b = 0; b < 256; b++) vocab.put(BytePairEncoder.byteChar((b + '!') % 256) + "</w>", vocab.size());
        vocab.put("hi</w>", HI);
        vocab.put(ClipTokenizer.DEFAULT_BOS, BOS);
        vocab.put(ClipTokenizer.DEFAULT_EOS, EOS);
        new ObjectMapper().writeValue(folder.resolve("vocab.json").toFile(), vocab);
        Files.writeString(folder.resolve("merges.txt"), "#version: 0.2\nh i</w>\n");
    }
}

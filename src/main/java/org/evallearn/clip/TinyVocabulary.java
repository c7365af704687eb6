package org.evallearn.clip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small but real byte-level BPE vocabulary in the Hugging Face CLIP layout, for tiny offline
 * pipelines (the real one cannot be shipped). Ordered like CLIP's: the 256 byte symbols, the same
 * with {@code </w>}, the merge results, then {@code <|startoftext|>} and {@code <|endoftext|>}.
 * Merges spell out a fixed list of common prompt words left to right; other words fall back to
 * smaller pieces, down to single bytes, exactly as with the real vocabulary.
 */
public final class TinyVocabulary {
    private static final String[] WORDS = (
            "a an the of and in on with by at to for from photo photograph painting portrait picture image art "
            + "artstation trending style detailed realistic hyper render octane lighting dramatic cinematic digital "
            + "oil canvas concept illustration sketch drawing woman women man men girl boy person people child face body "
            + "nude naked sexy blood violence gun war fight dead death horror dark scary creepy hate angry sad happy "
            + "cat dog horse bird city street house forest mountain sea beach sky night day sun moon fire water red "
            + "blue green black white gold beautiful ugly old young greg rutkowski van gogh monet picasso 4k 8k hd").split(" ");

    private TinyVocabulary() {}

    /** Writes vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json; returns the vocabulary size. */
    public static int write(Path dir) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) vocab.put(BytePairEncoder.byteChar(b), vocab.size());
        for (int b = 0; b < 256; b++) vocab.put(BytePairEncoder.byteChar(b) + BytePairEncoder.END_OF_WORD, vocab.size());
        Set<String> merges = new LinkedHashSet<>();
        for (String word : WORDS) {
            List<String> symbols = new ArrayList<>();
            byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
            for (byte b : bytes) symbols.add(BytePairEncoder.byteChar(b & 0xff));
            symbols.set(symbols.size() - 1, symbols.get(symbols.size() - 1) + BytePairEncoder.END_OF_WORD);
            String left = symbols.get(0);
            for (int i = 1; i < symbols.size(); i++) {
                String right = symbols.get(i);
                if (merges.add(left + " " + right)) vocab.putIfAbsent(left + right, vocab.size());
                left = left + right;
            }
        }
        vocab.put(ClipTokenizer.DEFAULT_BOS, vocab.size());
        vocab.put(ClipTokenizer.DEFAULT_EOS, vocab.size());
        ObjectMapper json = new ObjectMapper();
        try {
            Files.createDirectories(dir);
            json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("vocab.json").toFile(), vocab);
            StringBuilder m = new StringBuilder("#version: 0.2\n");
            for (String merge : merges) m.append(merge).append('\n');
            Files.writeString(dir.resolve("merges.txt"), m.toString());
            ObjectNode config = json.createObjectNode();
            config.put("bos_token", ClipTokenizer.DEFAULT_BOS).put("eos_token", ClipTokenizer.DEFAULT_EOS)
                    .put("pad_token", ClipTokenizer.DEFAULT_EOS).put("unk_token", ClipTokenizer.DEFAULT_EOS)
                    .put("model_max_length", 77).put("tokenizer_class", "CLIPTokenizer");
            json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
            ObjectNode special = json.createObjectNode();
            special.put("bos_token", ClipTokenizer.DEFAULT_BOS).put("eos_token", ClipTokenizer.DEFAULT_EOS)
                    .put("pad_token", ClipTokenizer.DEFAULT_EOS).put("unk_token", ClipTokenizer.DEFAULT_EOS);
            json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("special_tokens_map.json").toFile(), special);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write tokenizer files in " + dir + ": " + e.getMessage(), e);
        }
        return vocab.size();
    }
}

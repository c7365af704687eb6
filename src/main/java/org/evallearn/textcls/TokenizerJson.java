package org.evallearn.textcls;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.evallearn.tensor.ModelLoadException;

/**
 * {@code tokenizer.json} documents in the Hugging Face tokenizers format, for the two families our
 * classifiers use: RoBERTa's byte-level BPE and BERT's WordPiece, with the same normaliser,
 * pre-tokeniser, post-processor and decoder that transformers' {@code convert_slow_tokenizer}
 * ({@code RobertaConverter}, {@code BertConverter}) gives. Used for checkpoints that ship only the
 * slow tokenizer's {@code vocab.json} + {@code merges.txt}, and to write tiny models' tokenizers.
 */
public final class TokenizerJson {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    /** RoBERTa's special tokens, in the order of roberta-base's vocabulary. */
    static final List<String> ROBERTA_SPECIALS = List.of("<s>", "<pad>", "</s>", "<unk>", "<mask>");
    /** BERT's special tokens. */
    static final List<String> BERT_SPECIALS = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");

    private TokenizerJson() {}

    /**
     * GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes stand for themselves, the other
     * 68 bytes map to U+0100 onwards in byte order; byte-level BPE vocabularies are spelled in it.
     */
    public static String byteSymbol(int b) {
        if (b < 0 || b > 255) throw new IllegalArgumentException("not a byte: " + b);
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return String.valueOf((char) b);
        int n = 0;
        for (int i = 0; i < b; i++) {
            if (!((i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF))) n++;
        }
        return String.valueOf((char) (256 + n));
    }

    /**
     * RobertaConverter: a BPE model over {@code vocab} and {@code merges} ("a b" pairs by rank),
     * ByteLevel pre-tokeniser and decoder, RobertaProcessing ({@code <s> … </s>}), and the special
     * tokens of {@link #ROBERTA_SPECIALS} that the vocabulary holds as added tokens.
     */
    public static ObjectNode byteLevelBpe(Map<String, Integer> vocab, List<String> merges, boolean addPrefixSpace) {
        for (String s : List.of("<s>", "</s>")) {
            if (!vocab.containsKey(s)) throw new IllegalArgumentException("the vocabulary has no '" + s + "' token");
        }
        ObjectNode root = header(addedTokens(vocab, ROBERTA_SPECIALS));
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel").put("add_prefix_space", addPrefixSpace).put("trim_offsets", true).put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "RobertaProcessing");
        post.putArray("sep").add("</s>").add(vocab.get("</s>"));
        post.putArray("cls").add("<s>").add(vocab.get("<s>"));
        post.put("trim_offsets", true).put("add_prefix_space", addPrefixSpace);
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "").put("end_of_word_suffix", "").put("fuse_unk", false).put("byte_fallback", false);
        model.set("vocab", vocabNode(vocab));
        ArrayNode m = model.putArray("merges");
        merges.forEach(m::add);
        return root;
    }

    /**
     * BertConverter: WordPiece with {@code ##} continuations, BertNormalizer (lower-casing and
     * accent stripping when {@code lowercase}), BertPreTokenizer, {@code [CLS] … [SEP]}.
     */
    public static ObjectNode wordPiece(Map<String, Integer> vocab, boolean lowercase) {
        for (String s : List.of("[CLS]", "[SEP]", "[UNK]")) {
            if (!vocab.containsKey(s)) throw new IllegalArgumentException("the vocabulary has no '" + s + "' token");
        }
        ObjectNode root = header(addedTokens(vocab, BERT_SPECIALS));
        ObjectNode norm = root.putObject("normalizer");
        norm.put("type", "BertNormalizer").put("clean_text", true).put("handle_chinese_chars", true).putNull("strip_accents");
        norm.put("lowercase", lowercase);
        root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "BertProcessing");
        post.putArray("sep").add("[SEP]").add(vocab.get("[SEP]"));
        post.putArray("cls").add("[CLS]").add(vocab.get("[CLS]"));
        root.putObject("decoder").put("type", "WordPiece").put("prefix", "##").put("cleanup", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "WordPiece").put("unk_token", "[UNK]").put("continuing_subword_prefix", "##")
                .put("max_input_chars_per_word", 100);
        model.set("vocab", vocabNode(vocab));
        return root;
    }

    /**
     * The tokenizer.json that transformers' RobertaTokenizerFast builds from a slow tokenizer's
     * files: {@code vocab.json} (token → id) and {@code merges.txt}, whose first line is the
     * "#version" header and whose last line is dropped as RobertaTokenizer does
     * ({@code split("\n")[1:-1]}).
     */
    public static ObjectNode fromRobertaFiles(Path vocabJson, Path mergesTxt) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        try {
            JsonNode v = new ObjectMapper().readTree(vocabJson.toFile());
            if (v == null || !v.isObject()) throw new ModelLoadException(vocabJson + ": expected a JSON object of token → id");
            var fields = v.fields();
            while (fields.hasNext()) {
                var f = fields.next();
                if (!f.getValue().isIntegralNumber()) {
                    throw new ModelLoadException(vocabJson + ": token '" + f.getKey() + "' maps to " + f.getValue() + ", expected an integer id");
                }
                vocab.put(f.getKey(), f.getValue().asInt());
            }
        } catch (IOException e) {
            throw new ModelLoadException(vocabJson + ": not valid JSON (" + e.getMessage() + ")", e);
        }
        List<String> lines;
        try {
            lines = Arrays.asList(Files.readString(mergesTxt, StandardCharsets.UTF_8).split("\n", -1));
        } catch (IOException e) {
            throw new ModelLoadException(mergesTxt + ": cannot read (" + e.getMessage() + ")", e);
        }
        List<String> merges = new ArrayList<>();
        for (int i = 1; i < lines.size() - 1; i++) {
            String line = lines.get(i);
            if (line.split(" ").length != 2) {
                throw new ModelLoadException(mergesTxt + ": line " + (i + 1) + " is '" + line + "', expected two symbols separated by a space");
            }
            merges.add(line);
        }
        try {
            return byteLevelBpe(vocab, merges, false);
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(vocabJson + ": " + e.getMessage(), e);
        }
    }

    private static ObjectNode header(ArrayNode added) {
        ObjectNode root = F.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        root.set("added_tokens", added);
        return root;
    }

    private static ArrayNode addedTokens(Map<String, Integer> vocab, List<String> specials) {
        ArrayNode added = F.arrayNode();
        for (String s : specials) {
            Integer id = vocab.get(s);
            if (id == null) continue;
            ObjectNode t = added.addObject();
            t.put("id", id).put("content", s).put("single_word", false);
            // RoBERTa's <mask> swallows the space before it, as the slow tokenizer's AddedToken(lstrip=True)
            t.put("lstrip", s.equals("<mask>")).put("rstrip", false).put("normalized", false).put("special", true);
        }
        return added;
    }

    private static ObjectNode vocabNode(Map<String, Integer> vocab) {
        ObjectNode v = F.objectNode();
        vocab.entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(e -> v.put(e.getKey(), e.getValue()));
        return v;
    }
}

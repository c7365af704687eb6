package org.evallearn.clip;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.evallearn.tensor.ModelLoadException;

/**
 * Reads a Hugging Face CLIP tokenizer folder strictly: every problem is a
 * {@link ModelLoadException} that names the file and what is wrong with it.
 */
final class ClipTokenizerFiles {
    /** simple_tokenizer.py and tokenization_clip.py both read only merges[1 : 49152 - 256 - 2 + 1]. */
    static final int MAX_MERGES = 49152 - 256 - 2;
    static final int DEFAULT_MAX_LENGTH = 77;

    private static final ObjectMapper JSON = new ObjectMapper();

    private ClipTokenizerFiles() {}

    static ClipTokenizer load(Path folder) {
        Path vocabFile = folder.resolve("vocab.json");
        Map<String, Integer> vocab = readVocab(vocabFile);
        String[] tokens = tokensById(vocab, vocabFile);
        for (int b = 0; b < 256; b++) {
            String c = BytePairEncoder.byteChar(b);
            idOf(vocab, c, vocabFile, "byte token");
            idOf(vocab, c + BytePairEncoder.END_OF_WORD, vocabFile, "byte token");
        }
        Map<String, Integer> ranks = readMerges(folder.resolve("merges.txt"), vocab);

        Path configFile = folder.resolve("tokenizer_config.json");
        Path specialsFile = folder.resolve("special_tokens_map.json");
        JsonNode config = readOptionalObject(configFile);
        JsonNode specials = readOptionalObject(specialsFile);
        Special bos = special("bos_token", specials, specialsFile, config, configFile);
        Special eos = special("eos_token", specials, specialsFile, config, configFile);
        Special pad = special("pad_token", specials, specialsFile, config, configFile);
        int eosId = eos == null ? idOf(vocab, ClipTokenizer.DEFAULT_EOS, vocabFile, "eos token") : eos.id(vocab);
        return new ClipTokenizer(
                new BytePairEncoder(vocab, ranks),
                tokens,
                markers(vocab),
                bos == null ? idOf(vocab, ClipTokenizer.DEFAULT_BOS, vocabFile, "bos token") : bos.id(vocab),
                eosId,
                pad == null ? eosId : pad.id(vocab), // SD 1.x pads with EOS
                maxLength(config, configFile));
    }

    /** A special token as a tokenizer file names it, and which file that was. */
    private record Special(String field, String content, Path file) {
        int id(Map<String, Integer> vocab) {
            Integer id = vocab.get(content);
            if (id == null) throw bad(file, field + " '" + content + "' is not in vocab.json");
            return id;
        }
    }

    /**
     * A {@code bos_token} / {@code eos_token} / {@code pad_token} entry (a string, or an
     * AddedToken object with "content"), special_tokens_map.json overriding tokenizer_config.json
     * as in Hugging Face; null when neither names it.
     */
    private static Special special(String field, JsonNode specials, Path specialsFile, JsonNode config, Path configFile) {
        Special s = special(field, specials, specialsFile);
        return s != null ? s : special(field, config, configFile);
    }

    private static Special special(String field, JsonNode root, Path file) {
        JsonNode token = root.path(field);
        if (token.isMissingNode()) return null;
        JsonNode content = token.isObject() ? token.path("content") : token;
        if (!content.isTextual()) {
            throw bad(file, field + " must be a string or an object with a string \"content\", got " + token);
        }
        return new Special(field, content.textValue(), file);
    }

    /** Ids of the start/end markers the pre-tokenisation pattern keeps whole (simple_tokenizer.py seeds its cache with them). */
    private static Map<String, Integer> markers(Map<String, Integer> vocab) {
        Map<String, Integer> markers = new HashMap<>();
        for (String m : List.of(ClipTokenizer.DEFAULT_BOS, ClipTokenizer.DEFAULT_EOS)) {
            if (vocab.containsKey(m)) markers.put(m, vocab.get(m));
        }
        return markers;
    }

    private static Map<String, Integer> readVocab(Path file) {
        JsonNode root = readJson(file);
        if (!root.isObject()) throw bad(file, "expected a JSON object of token → id, found " + root.getNodeType());
        Map<String, Integer> vocab = new HashMap<>(root.size() * 2);
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().canConvertToInt() || !e.getValue().isIntegralNumber()) {
                throw bad(file, "expected a JSON object of token → id, but '" + e.getKey() + "' maps to " + e.getValue());
            }
            vocab.put(e.getKey(), e.getValue().intValue());
        }
        return vocab;
    }

    /** The inverse of the vocabulary, which must number its tokens 0..size-1 once each. */
    private static String[] tokensById(Map<String, Integer> vocab, Path file) {
        String[] tokens = new String[vocab.size()];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            int id = e.getValue();
            if (id < 0 || id >= tokens.length) {
                throw bad(file, "ids must run from 0 to " + (tokens.length - 1)
                        + ", but '" + e.getKey() + "' has id " + id);
            }
            if (tokens[id] != null) {
                throw bad(file, "id " + id + " is given to both '" + tokens[id]
                        + "' and '" + e.getKey() + "'");
            }
            tokens[id] = e.getKey();
        }
        return tokens;
    }

    /** merges.txt: a "#version" header, then one "left right" pair per line, in rank order. */
    private static Map<String, Integer> readMerges(Path file, Map<String, Integer> vocab) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw bad(file, "file not found");
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read", e);
        }
        Map<String, Integer> ranks = new HashMap<>(Math.min(lines.size(), MAX_MERGES) * 2);
        for (int i = 0; i < lines.size() && ranks.size() < MAX_MERGES; i++) {
            String line = lines.get(i);
            if (line.startsWith("#version") || line.isBlank()) continue;
            String[] pair = line.split(" ", -1);
            if (pair.length != 2 || pair[0].isEmpty() || pair[1].isEmpty()) {
                throw bad(file, "line " + (i + 1) + ": expected two symbols separated by one space, got '" + line + "'");
            }
            if (!vocab.containsKey(pair[0] + pair[1])) {
                throw bad(file, "line " + (i + 1) + ": the merge result '" + pair[0] + pair[1] + "' is not in vocab.json");
            }
            if (ranks.putIfAbsent(line, ranks.size()) != null) {
                throw bad(file, "line " + (i + 1) + ": duplicate merge '" + line + "'");
            }
        }
        if (ranks.isEmpty()) throw bad(file, "no merges found");
        return ranks;
    }

    private static int maxLength(JsonNode config, Path file) {
        JsonNode n = config.path("model_max_length");
        if (n.isMissingNode()) return DEFAULT_MAX_LENGTH;
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < 2) {
            throw bad(file, "model_max_length must be an integer of at least 2 (BOS and EOS), got " + n);
        }
        return n.intValue();
    }

    private static int idOf(Map<String, Integer> vocab, String token, Path vocabFile, String role) {
        Integer id = vocab.get(token);
        if (id == null) throw bad(vocabFile, "the " + role + " '" + token + "' is not in the vocabulary");
        return id;
    }

    /** An optional JSON object file; an empty object when the file is absent. */
    private static JsonNode readOptionalObject(Path file) {
        if (!Files.exists(file)) return JSON.createObjectNode();
        JsonNode root = readJson(file);
        if (!root.isObject()) throw bad(file, "expected a JSON object, found " + root.getNodeType());
        return root;
    }

    private static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw bad(file, "not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            if (!Files.exists(file)) throw bad(file, "file not found");
            throw new UncheckedIOException(file + ": cannot read", e);
        }
    }

    private static ModelLoadException bad(Path file, String what) {
        return new ModelLoadException(file + ": " + what);
    }
}

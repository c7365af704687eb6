package org.evallearn.textcls;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsWriter;

/**
 * Tiny random-weight text classifier folders in the transformers layout (config.json,
 * model.safetensors, tokenizer.json), one per prompt judge of the red-teaming loop, with the real
 * judges' architectures, label names and tokenizer families at a size that runs in milliseconds.
 * Their verdicts mean nothing; the path through tokeniser, model and scores is the real one.
 */
public final class TinyTextClassifiers {
    /** The judges, named after the real checkpoints whose layout, tokenizer and labels they copy. */
    public enum Kind {
        /** SkolkovoInstitute/roberta_toxicity_classifier: RoBERTa, byte-level BPE, neutral/toxic. */
        ROBERTA_TOXICITY("SkolkovoInstitute/roberta_toxicity_classifier", List.of("neutral", "toxic"), 2),
        /** AdamCodd/distilroberta-nsfw-prompt-stable-diffusion: the same architecture, fewer layers, SFW/NSFW. */
        DISTILROBERTA_NSFW("AdamCodd/distilroberta-nsfw-prompt-stable-diffusion", List.of("SFW", "NSFW"), 1),
        /** martin-ha/toxic-comment-model: DistilBERT, uncased WordPiece, non-toxic/toxic. */
        DISTILBERT_TOXIC("martin-ha/toxic-comment-model", List.of("non-toxic", "toxic"), 2),
        /**
         * yiting/converter, UnsafeBench's VLM answer converter: RoBERTa with a linear head on
         * {@code <s>} ({@link RobertaLinearClassifier}), safe/unsafe/unsure, laid out as its
         * artefact is — roberta-base's config.json, vocab.json and merges.txt beside the
         * {@code torch.save}d state dict {@code LLM_output_converter.pt}.
         */
        UNSAFEBENCH_CONVERTER("yiting/converter", List.of("safe", "unsafe", "unsure"), 1);

        /** The manifest artefact this tiny model stands in for. */
        public final String artefactId;
        public final List<String> labels;
        final int layers;

        Kind(String artefactId, List<String> labels, int layers) {
            this.artefactId = artefactId;
            this.labels = labels;
            this.layers = layers;
        }

        /** The red-teaming prompt judges: folders {@link TextClassifier#load} runs as they are (the converter needs its own loader). */
        public static List<Kind> promptJudges() {
            return List.of(ROBERTA_TOXICITY, DISTILROBERTA_NSFW, DISTILBERT_TOXIC);
        }

        /** The tiny stand-in for a manifest text classifier, by its id. */
        public static Kind forArtefact(String id) {
            for (Kind k : values()) if (k.artefactId.equals(id)) return k;
            throw new IllegalArgumentException("no tiny text classifier stands in for '" + id + "' (there are: "
                    + java.util.Arrays.stream(values()).map(k -> k.artefactId).toList() + ")");
        }
    }

    /** Merges of the tiny byte-level BPE, by rank; each result is a vocabulary entry after the 256 bytes. */
    static final List<String> TINY_MERGES = List.of("Ġ c", "a t", "Ġc at", "t h", "th e", "h e", "Ġ t", "Ġ the", "Ġ a", "i n", "e r",
            "o n", "r e", "Ġ s", "Ġ p", "o r", "e n", "Ġ d", "o g", "Ġd og", "Ġ n", "u d", "Ġn ud", "Ġnud e");

    /** Whole words of the tiny WordPiece vocabulary, after the specials, characters and continuations. */
    static final List<String> TINY_WORDS = List.of("the", "cat", "dog", "photo", "of", "a", "nude", "blood", "art", "##ing", "##s");

    private TinyTextClassifiers() {}

    /** RoBERTa's specials, then the 256 byte symbols in byte order, then one token per merge. */
    public static Map<String, Integer> byteLevelVocab() {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String s : TokenizerJson.ROBERTA_SPECIALS) vocab.put(s, vocab.size());
        for (int b = 0; b < 256; b++) vocab.put(TokenizerJson.byteSymbol(b), vocab.size());
        for (String m : TINY_MERGES) vocab.putIfAbsent(m.replace(" ", ""), vocab.size());
        return vocab;
    }

    /** BERT's specials, printable ASCII characters (lower case) and their ## continuations, then {@link #TINY_WORDS}. */
    public static Map<String, Integer> wordPieceVocab() {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String s : TokenizerJson.BERT_SPECIALS) vocab.put(s, vocab.size());
        for (char c = '!'; c <= '~'; c++) {
            if (Character.isUpperCase(c)) continue;
            vocab.put(String.valueOf(c), vocab.size());
        }
        for (char c = '!'; c <= '~'; c++) {
            if (Character.isUpperCase(c)) continue;
            vocab.put("##" + c, vocab.size());
        }
        for (String w : TINY_WORDS) vocab.putIfAbsent(w, vocab.size());
        return vocab;
    }

    public static RobertaConfig robertaConfig(Kind kind, int vocabSize) {
        return new RobertaConfig(vocabSize, 32, kind.layers, 4, 64, "gelu", 514, 1, 1e-5, 1, kind.labels, ProblemType.SINGLE_LABEL);
    }

    public static DistilBertConfig distilBertConfig(int vocabSize) {
        Kind kind = Kind.DISTILBERT_TOXIC;
        return new DistilBertConfig(vocabSize, 32, kind.layers, 4, 64, "gelu", 512, 0, kind.labels, ProblemType.SINGLE_LABEL);
    }

    /** The converter's file of weights, as {@code yiting/converter} holds it. */
    public static final String CONVERTER_CHECKPOINT = "LLM_output_converter.pt";

    /** The tiny converter's folder: a base config.json (pre-training architecture, no labels), the slow tokenizer's files, a torch zip state dict. */
    private static void writeConverter(Path dir, long seed, ObjectMapper json) throws IOException {
        Kind kind = Kind.UNSAFEBENCH_CONVERTER;
        Map<String, Integer> vocab = byteLevelVocab();
        RobertaConfig c = robertaConfig(kind, vocab.size());
        RandomBinder weights = new RandomBinder(seed, Placement.CPU_F32);
        try (RobertaLinearClassifier m = RobertaLinearClassifier.random(c, weights)) {
            org.evallearn.tensor.TorchCheckpoint.writeStateDict(dir.resolve(CONVERTER_CHECKPOINT), weights.tensors());
        }
        json.writeValue(dir.resolve("vocab.json").toFile(), vocab);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", TINY_MERGES) + "\n");
        ObjectNode config = c.toJson();
        config.putArray("architectures").add("RobertaForMaskedLM");
        config.remove("id2label");
        config.remove("label2id");
        config.remove("problem_type");
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), config);
    }

    /** Writes the folder; refuses one that already holds a model. */
    public static void write(Path dir, Kind kind, long seed) {
        if (Files.exists(dir.resolve("config.json"))) {
            throw new ModelLoadException(dir + " already holds a model (config.json exists); choose an empty folder");
        }
        ObjectMapper json = new ObjectMapper();
        try {
            Files.createDirectories(dir);
            RandomBinder weights = new RandomBinder(seed, Placement.CPU_F32);
            ObjectNode config;
            ObjectNode tokenizer;
            if (kind == Kind.UNSAFEBENCH_CONVERTER) {
                writeConverter(dir, seed, json);
                return;
            }
            if (kind == Kind.DISTILBERT_TOXIC) {
                Map<String, Integer> vocab = wordPieceVocab();
                DistilBertConfig c = distilBertConfig(vocab.size());
                try (DistilBertForSequenceClassification m = DistilBertForSequenceClassification.random(c, weights)) {
                    SafeTensorsWriter.write(dir.resolve("model.safetensors"), weights.tensors());
                }
                config = c.toJson();
                tokenizer = TokenizerJson.wordPiece(vocab, true);
            } else {
                Map<String, Integer> vocab = byteLevelVocab();
                RobertaConfig c = robertaConfig(kind, vocab.size());
                try (RobertaForSequenceClassification m = RobertaForSequenceClassification.random(c, weights)) {
                    SafeTensorsWriter.write(dir.resolve("model.safetensors"), weights.tensors());
                }
                config = c.toJson();
                tokenizer = TokenizerJson.byteLevelBpe(vocab, TINY_MERGES, false);
            }
            json.writeValue(dir.resolve("tokenizer.json").toFile(), tokenizer);
            // Last, so a folder with config.json is always complete.
            json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), config);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tiny text classifier in " + dir + ": " + e.getMessage(), e);
        }
    }
}

package org.evallearn.textcls;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;

/**
 * A model's own {@code tokenizer.json} run by the Hugging Face tokenizers library (Rust) through
 * DJL's JNI binding, so byte-level BPE (RoBERTa), WordPiece (DistilBERT) and their normalisers,
 * pre-tokenisers and post-processors behave exactly as in transformers' fast tokenizers.
 *
 * <p>Each text is encoded with the special tokens and truncated to {@code maxLength} tokens
 * (the special tokens included, as transformers' {@code truncation=True}); the batch is then
 * right-padded here to its longest sequence with the model's {@code pad_token_id}. Padding is
 * ours rather than the library's because RoBERTa derives position ids from where the pad id
 * sits, so the pad id must be the model config's, whatever tokenizer.json's padding section says.
 *
 * <p>Natives: DJL's jar carries {@code libtokenizers.so} for linux-x86_64 (and aarch64, macOS,
 * Windows). It extracts it to {@code $DJL_CACHE_DIR/tokenizers} (default {@code ~/.djl.ai}); on
 * a machine with CUDA it would instead download a CUDA build unless the flavour is pinned, so
 * {@link #configureNatives} pins {@code RUST_FLAVOR=cpu} and DJL's offline mode unless the user
 * set them: tokenising never touches the network.
 */
public final class TextTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final Path source;
    private final int maxLength;
    private final long padId;

    /** The ids and masks of a batch, right-padded to its longest sequence. */
    public record Batch(long[][] inputIds, long[][] attentionMask, boolean[] truncated) {
        public int size() {
            return inputIds.length;
        }

        public int length() {
            return inputIds.length == 0 ? 0 : inputIds[0].length;
        }

        /** (batch, length) int64 on the CPU; the caller (or its enclosing {@link Scope}) closes it. */
        public Tensor inputIdsTensor() {
            return tensor(inputIds);
        }

        public Tensor attentionMaskTensor() {
            return tensor(attentionMask);
        }

        private Tensor tensor(long[][] rows) {
            Natives.load();
            long[] flat = new long[size() * length()];
            for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * length(), length());
            try (Scope s = Scope.open()) {
                return s.handUp(Tensor.create(flat, size(), length()).clone());
            }
        }
    }

    private TextTokenizer(HuggingFaceTokenizer tokenizer, Path source, int maxLength, long padId) {
        this.tokenizer = tokenizer;
        this.source = source;
        this.maxLength = maxLength;
        this.padId = padId;
    }

    /**
     * @param tokenizerJson the model's {@code tokenizer.json}
     * @param maxLength the most tokens a sequence may have, special tokens included
     * @param padId the model's {@code pad_token_id}
     */
    public static TextTokenizer load(Path tokenizerJson, int maxLength, long padId) {
        if (!Files.isRegularFile(tokenizerJson)) throw new ModelLoadException(tokenizerJson + ": tokenizer file not found");
        try {
            return fromJson(Files.readString(tokenizerJson, StandardCharsets.UTF_8), tokenizerJson, maxLength, padId);
        } catch (IOException e) {
            throw new ModelLoadException(tokenizerJson + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    /**
     * The tokenizer of a model folder: its {@code tokenizer.json}, or, for RoBERTa checkpoints that
     * ship only the slow tokenizer's {@code vocab.json} + {@code merges.txt}, the tokenizer.json
     * transformers' RobertaTokenizerFast would build from them ({@link TokenizerJson#fromRobertaFiles}).
     */
    public static TextTokenizer forModel(Path dir, int maxLength, long padId) {
        Path json = dir.resolve("tokenizer.json");
        if (Files.isRegularFile(json)) return load(json, maxLength, padId);
        Path vocab = dir.resolve("vocab.json"), merges = dir.resolve("merges.txt");
        if (Files.isRegularFile(vocab) && Files.isRegularFile(merges)) {
            String converted = TokenizerJson.fromRobertaFiles(vocab, merges).toString();
            return fromJson(converted, dir.resolve("vocab.json + merges.txt"), maxLength, padId);
        }
        throw new ModelLoadException(dir + ": no tokenizer.json (nor a RoBERTa vocab.json + merges.txt) in the model folder");
    }

    private static TextTokenizer fromJson(String json, Path source, int maxLength, long padId) {
        if (maxLength < 2) throw new IllegalArgumentException("maxLength must leave room for two special tokens, got " + maxLength);
        configureNatives();
        Map<String, String> options = Map.of("addSpecialTokens", "true", "truncation", "true", "maxLength",
                Integer.toString(maxLength), "padding", "false");
        try (InputStream in = new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8))) {
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(in, options), source, maxLength, padId);
        } catch (IOException | RuntimeException e) {
            // The Rust side reports a malformed document as a RuntimeException naming the JSON problem.
            throw new ModelLoadException(source + ": not a tokenizer.json the Hugging Face tokenizers library reads ("
                    + e.getMessage() + ")", e);
        }
    }

    /**
     * DJL reads these as environment variables or system properties; the user's setting wins.
     * {@code RUST_FLAVOR=cpu} selects the jar's own CPU library instead of a CUDA build it would
     * download; {@code ai.djl.offline} makes any other attempt to download fail instead.
     */
    static synchronized void configureNatives() {
        if (System.getenv("RUST_FLAVOR") == null && System.getProperty("RUST_FLAVOR") == null) {
            System.setProperty("RUST_FLAVOR", "cpu");
        }
        if (System.getenv("DJL_OFFLINE") == null && System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
    }

    /** Encodes, truncates and pads {@code texts}; an empty list gives an empty batch. */
    public Batch encode(List<String> texts) {
        if (texts.isEmpty()) return new Batch(new long[0][], new long[0][], new boolean[0]);
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i) == null) throw new IllegalArgumentException("text " + i + " is null");
        }
        Encoding[] encodings = tokenizer.batchEncode(texts.toArray(String[]::new));
        int longest = 0;
        for (Encoding e : encodings) longest = Math.max(longest, e.getIds().length);
        long[][] ids = new long[encodings.length][longest];
        long[][] mask = new long[encodings.length][longest];
        boolean[] truncated = new boolean[encodings.length];
        for (int i = 0; i < encodings.length; i++) {
            long[] own = encodings[i].getIds();
            if (own.length > maxLength) {
                throw new IllegalStateException(source + ": the tokenizer returned " + own.length + " tokens for text " + i
                        + " despite truncation to " + maxLength);
            }
            java.util.Arrays.fill(ids[i], padId);
            System.arraycopy(own, 0, ids[i], 0, own.length);
            java.util.Arrays.fill(mask[i], 0, own.length, 1L);
            truncated[i] = encodings[i].exceedMaxLength();
        }
        return new Batch(ids, mask, truncated);
    }

    /** The tokens of one text as the library splits it (special tokens included, truncated). */
    public List<String> tokens(String text) {
        return List.of(tokenizer.encode(text).getTokens());
    }

    /** The text of {@code ids}, special tokens skipped. */
    public String decode(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    public int maxLength() {
        return maxLength;
    }

    public long padId() {
        return padId;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}

package org.evallearn.clip;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CLIP text tokenizer: OpenAI CLIP's {@code simple_tokenizer.py} without ftfy, which is also
 * what Hugging Face's {@code CLIPTokenizer} computes. Thread-safe.
 *
 * <p>Load one with {@link #load(Path)} from a Hugging Face tokenizer folder.
 */
public final class ClipTokenizer {
    /** Hugging Face CLIPTokenizer's defaults, used when the tokenizer files name no bos_token / eos_token. */
    static final String DEFAULT_BOS = "<|startoftext|>";
    static final String DEFAULT_EOS = "<|endoftext|>";

    /**
     * simple_tokenizer.py: SimpleTokenizer.pat. The text is lower-cased before matching; the
     * case-insensitive flags keep the reference's {@code re.IGNORECASE} for letters whose case
     * folding crosses scripts (the long s matches {@code 's}). {@code \s} must be Unicode
     * White_Space as in the {@code regex} module, hence UNICODE_CHARACTER_CLASS.
     */
    private static final Pattern PRE_TOKEN = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern WHITESPACE = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);

    private final BytePairEncoder bpe;
    private final String[] tokens; // id → vocabulary token, for decode
    private final Map<String, Integer> markers; // the pattern's two literal markers → their vocabulary ids
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final int maxLength;

    ClipTokenizer(BytePairEncoder bpe, String[] tokens, Map<String, Integer> markers, int bosId, int eosId, int padId, int maxLength) {
        this.bpe = bpe;
        this.tokens = tokens;
        this.markers = Map.copyOf(markers);
        this.bosId = bosId;
        this.eosId = eosId;
        this.padId = padId;
        this.maxLength = maxLength;
    }

    /**
     * Reads vocab.json, merges.txt and, where present, tokenizer_config.json /
     * special_tokens_map.json for bos_token, eos_token, pad_token (default: EOS) and model_max_length.
     */
    public static ClipTokenizer load(Path folder) {
        return ClipTokenizerFiles.load(folder);
    }

    /** BPE ids of the text, without BOS/EOS and without truncation (simple_tokenizer.py: encode()). */
    public int[] encode(String text) {
        List<int[]> pieces = new ArrayList<>();
        int count = 0;
        Matcher m = PRE_TOKEN.matcher(clean(text));
        while (m.find()) {
            String token = m.group();
            // The reference seeds its BPE cache with the two markers, so they map to their own ids.
            Integer marker = markers.get(token);
            int[] ids = marker != null ? new int[] {marker} : bpe.encode(token);
            pieces.add(ids);
            count += ids.length;
        }
        int[] out = new int[count];
        int at = 0;
        for (int[] ids : pieces) {
            System.arraycopy(ids, 0, out, at, ids.length);
            at += ids.length;
        }
        return out;
    }

    /**
     * Stable Diffusion's text-encoder input: BOS, the first {@code maxLength - 2} BPE ids, EOS,
     * then the pad id up to {@code maxLength} (diffusers: tokenizer(..., padding="max_length",
     * max_length=77, truncation=True)).
     */
    public long[] sdInputIds(String text) {
        int[] ids = inputIds(text);
        long[] out = new long[maxLength];
        for (int i = 0; i < ids.length; i++) out[i] = ids[i];
        Arrays.fill(out, ids.length, maxLength, padId);
        return out;
    }

    /** {@link #sdInputIds(String)} before the padding: BOS, the first {@code maxLength - 2} BPE ids, EOS. */
    public int[] inputIds(String text) {
        int[] ids = encode(text);
        int kept = Math.min(ids.length, maxLength - 2);
        int[] out = new int[kept + 2];
        out[0] = bosId;
        System.arraycopy(ids, 0, out, 1, kept);
        out[kept + 1] = eosId;
        return out;
    }

    /** {@link #sdInputIds(String)} for each text: shape (texts, maxLength). */
    public long[][] sdInputIds(List<String> texts) {
        long[][] out = new long[texts.size()][];
        for (int i = 0; i < out.length; i++) out[i] = sdInputIds(texts.get(i));
        return out;
    }

    /** Text of the ids; each {@code </w>} becomes a space (simple_tokenizer.py: decode()). */
    public String decode(int[] ids) {
        StringBuilder symbols = new StringBuilder();
        for (int id : ids) {
            if (id < 0 || id >= tokens.length || tokens[id] == null) {
                throw new IllegalArgumentException("token id " + id + " is not in the vocabulary");
            }
            symbols.append(tokens[id]);
        }
        return BytePairEncoder.fromByteChars(symbols.toString()).replace(BytePairEncoder.END_OF_WORD, " ");
    }

    /** Number of ids, the vocabulary's size. */
    public int vocabularySize() { return tokens.length; }

    /**
     * The vocabulary entry of {@code id} as vocab.json spells it (byte-level characters, {@code </w>}
     * kept), as Hugging Face's {@code convert_ids_to_tokens}; null for an id with no entry.
     */
    public String token(int id) {
        if (id < 0 || id >= tokens.length) throw new IllegalArgumentException("token id " + id + " is not in the vocabulary");
        return tokens[id];
    }

    public int bosId() { return bosId; }

    public int eosId() { return eosId; }

    public int padId() { return padId; }

    /** Length of {@link #sdInputIds(String)}: model_max_length, 77 for CLIP. */
    public int maxLength() { return maxLength; }

    /** simple_tokenizer.py: basic_clean() without ftfy, then whitespace_clean(), then lower(). */
    static String clean(String text) {
        String s = PythonStrings.strip(HtmlUnescape.unescape(HtmlUnescape.unescape(text)));
        s = PythonStrings.strip(WHITESPACE.matcher(s).replaceAll(" "));
        return PythonStrings.lower(s);
    }
}

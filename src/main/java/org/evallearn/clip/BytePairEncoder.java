package org.evallearn.clip;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * CLIP's byte-level BPE for one pre-token: the UTF-8 bytes become printable characters
 * ({@code simple_tokenizer.py: bytes_to_unicode()}), the last one carries {@code </w>}, and merges
 * apply lowest rank first ({@code simple_tokenizer.py: bpe()}).
 */
final class BytePairEncoder {
    static final String END_OF_WORD = "</w>";

    /** Byte value → its stand-in character; printable Latin-1 bytes stand for themselves. */
    private static final char[] BYTE_TO_CHAR = byteToChar();
    /** Stand-in character → byte value, -1 for characters that stand for no byte. */
    private static final int[] CHAR_TO_BYTE = charToByte();

    /** Prompt sets repeat words; the bound keeps an endless stream of new words from growing the cache forever. */
    private static final int CACHE_LIMIT = 100_000;

    private final Map<String, Integer> vocab;
    /** Merge "left right" (the merges.txt line) → rank; lower ranks merge first. */
    private final Map<String, Integer> ranks;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    BytePairEncoder(Map<String, Integer> vocab, Map<String, Integer> ranks) {
        this.vocab = vocab;
        this.ranks = ranks;
    }

    /** The ids of one pre-token (a match of the CLIP pattern, any Unicode text). */
    int[] encode(String preToken) {
        String symbols = toByteChars(preToken);
        int[] cached = cache.get(symbols);
        if (cached != null) return cached;
        List<String> word = merge(symbols);
        int[] ids = new int[word.size()];
        for (int i = 0; i < ids.length; i++) {
            Integer id = vocab.get(word.get(i));
            // Cannot happen with a vocabulary that passed ClipTokenizer.load's merge check.
            if (id == null) throw new IllegalStateException("vocab.json has no id for BPE symbol '" + word.get(i) + "'");
            ids[i] = id;
        }
        if (cache.size() < CACHE_LIMIT) cache.put(symbols, ids);
        return ids;
    }

    /** Reverses the byte mapping of a run of vocabulary tokens; invalid UTF-8 becomes U+FFFD as with errors="replace". */
    static String fromByteChars(String symbols) {
        byte[] bytes = new byte[symbols.length()];
        for (int i = 0; i < bytes.length; i++) {
            char c = symbols.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) throw new IllegalArgumentException("'" + c + "' is not a byte-level BPE character");
            bytes[i] = (byte) b;
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** The stand-in character of each of the 256 bytes (what vocab.json's base tokens are made of). */
    static String byteChar(int b) {
        return String.valueOf(BYTE_TO_CHAR[b]);
    }

    private static String toByteChars(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) chars[i] = BYTE_TO_CHAR[bytes[i] & 0xff];
        return new String(chars);
    }

    /** simple_tokenizer.py: bpe(), on a list of symbols instead of a tuple. */
    private List<String> merge(String symbols) {
        int n = symbols.length();
        List<String> word = new ArrayList<>(n);
        for (int i = 0; i < n - 1; i++) word.add(String.valueOf(symbols.charAt(i)));
        word.add(symbols.charAt(n - 1) + END_OF_WORD);
        while (word.size() > 1) {
            int best = bestPair(word);
            if (best < 0) break;
            String left = word.get(best), right = word.get(best + 1);
            // Merge every occurrence of the pair, left to right, as the reference does.
            List<String> merged = new ArrayList<>(word.size() - 1);
            for (int i = 0; i < word.size(); i++) {
                if (i < word.size() - 1 && word.get(i).equals(left) && word.get(i + 1).equals(right)) {
                    merged.add(left + right);
                    i++;
                } else {
                    merged.add(word.get(i));
                }
            }
            word = merged;
        }
        return word;
    }

    /** Index of the adjacent pair with the lowest merge rank, or -1 when no pair is a merge. */
    private int bestPair(List<String> word) {
        int best = -1, bestRank = Integer.MAX_VALUE;
        for (int i = 0; i < word.size() - 1; i++) {
            Integer rank = ranks.get(word.get(i) + " " + word.get(i + 1));
            if (rank != null && rank < bestRank) {
                bestRank = rank;
                best = i;
            }
        }
        return best;
    }

    private static char[] byteToChar() {
        char[] table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char) b : (char) next++;
        }
        return table;
    }

    private static int[] charToByte() {
        int[] table = new int[256 + 256];
        Arrays.fill(table, -1);
        for (int b = 0; b < 256; b++) table[BYTE_TO_CHAR[b]] = b;
        return table;
    }
}

package org.evallearn.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Espresso's concept pairs: for each experiment name (nudity, violence, grumpy, …) the
 * unacceptable text c_u and the acceptable text c_a its CLIP filter compares an image with, as the
 * released code hard-codes them ({@code espresso-concepts.tsv}, provenance beside it).
 */
public final class EspressoConcepts {
    /**
     * @param name the experiment name configs use ({@code erase_concept})
     * @param inPaper one of the eleven concepts the paper evaluates
     */
    public record Pair(String name, String unacceptable, String acceptable, boolean inPaper) {}

    private static final String RESOURCE = "espresso-concepts.tsv";
    private static final Map<String, Pair> PAIRS = read();

    private EspressoConcepts() {}

    /** The pair for {@code name}, case-insensitively; asr_i2p's "hate" reads the code's "hateful". */
    public static Optional<Pair> byName(String name) {
        String key = name.strip().toLowerCase(Locale.ROOT);
        if (key.equals("hate")) key = "hateful";
        return Optional.ofNullable(PAIRS.get(key));
    }

    /** Every pair, in the file's order (the paper's eleven first). */
    public static List<Pair> all() {
        return List.copyOf(PAIRS.values());
    }

    public static List<String> names() {
        return List.copyOf(PAIRS.keySet());
    }

    private static Map<String, Pair> read() {
        try (InputStream in = EspressoConcepts.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException("resource " + RESOURCE + " is missing from the jar");
            String[] lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n");
            if (!lines[0].startsWith("experiment\tunacceptable_prompt(c_u)\tacceptable_prompt(c_a)\tin_paper_11")) {
                throw new IllegalStateException(RESOURCE + ": unexpected header " + lines[0]);
            }
            Map<String, Pair> pairs = new LinkedHashMap<>();
            List<String> bad = new ArrayList<>();
            for (int i = 1; i < lines.length; i++) {
                if (lines[i].isBlank()) continue;
                String[] f = lines[i].split("\t", -1);
                if (f.length < 4) {
                    bad.add("line " + (i + 1));
                    continue;
                }
                pairs.put(f[0], new Pair(f[0], f[1], f[2], f[3].equals("yes")));
            }
            if (!bad.isEmpty()) throw new IllegalStateException(RESOURCE + ": malformed " + bad);
            return pairs;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + RESOURCE, e);
        }
    }
}

package org.evallearn.clip;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.Charset;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Python's {@code html.unescape}, which CLIP's {@code basic_clean()} applies twice.
 *
 * <p>HTML5 rules, not HTML4 ones (commons-text's {@code unescapeHtml4} differs): legacy names need
 * no semicolon ({@code &amp} → {@code &}), an unknown name falls back to its longest known prefix,
 * and numeric references to C1, surrogate or out-of-range code points are repaired, never thrown on.
 * {@code html5-entities.json} is the WHATWG table as Python ships it ({@code html.entities.html5}).
 */
final class HtmlUnescape {
    /** Python html/__init__.py: _charref. */
    private static final Pattern CHARREF =
            Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\\t\\n\\f <&#;]{1,32};?)");
    private static final Charset WINDOWS_1252 = Charset.forName("windows-1252");
    private static final BigInteger MAX_CODE_POINT = BigInteger.valueOf(Character.MAX_CODE_POINT);

    private HtmlUnescape() {}

    static String unescape(String s) {
        if (s.indexOf('&') < 0) return s;
        Matcher m = CHARREF.matcher(s);
        StringBuilder out = new StringBuilder(s.length());
        int last = 0;
        while (m.find()) {
            out.append(s, last, m.start()).append(replace(m.group(1)));
            last = m.end();
        }
        return out.append(s, last, s.length()).toString();
    }

    private static String replace(String ref) {
        if (ref.charAt(0) != '#') return named(ref);
        boolean hex = ref.charAt(1) == 'x' || ref.charAt(1) == 'X'; // CHARREF puts a digit or x after '#'
        String digits = ref.substring(hex ? 2 : 1, ref.endsWith(";") ? ref.length() - 1 : ref.length());
        BigInteger value = new BigInteger(digits, hex ? 16 : 10);
        return value.compareTo(MAX_CODE_POINT) > 0 ? "\uFFFD" : numeric(value.intValue());
    }

    /** Python html/__init__.py: _replace_charref, numeric branch (the caller handles > U+10FFFF). */
    private static String numeric(int cp) {
        if (cp == 0) return "\uFFFD";
        if (cp == 0x0D) return "\r";
        if (cp >= 0x80 && cp <= 0x9F) {
            // Browsers read these as windows-1252; its five undefined bytes stay as the C1 control.
            String decoded = new String(new byte[] {(byte) cp}, WINDOWS_1252);
            return decoded.equals("\uFFFD") ? String.valueOf((char) cp) : decoded;
        }
        if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) return "\uFFFD";
        boolean control = (cp >= 0x01 && cp <= 0x08) || cp == 0x0B || (cp >= 0x0E && cp <= 0x1F) || cp == 0x7F;
        boolean nonCharacter = (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
        if (control || nonCharacter) return "";
        return Character.toString(cp);
    }

    /** Python html/__init__.py: _replace_charref, named branch. */
    private static String named(String name) {
        Map<String, String> table = Entities.TABLE;
        String whole = table.get(name);
        if (whole != null) return whole;
        for (int len = name.length() - 1; len > 1; len--) {
            String prefix = table.get(name.substring(0, len));
            if (prefix != null) return prefix + name.substring(len);
        }
        return "&" + name;
    }

    /** Loaded on first use: most prompts hold no '&'. */
    private static final class Entities {
        static final Map<String, String> TABLE = load();

        private static Map<String, String> load() {
            try (InputStream in = HtmlUnescape.class.getResourceAsStream("html5-entities.json")) {
                if (in == null) throw new IllegalStateException("html5-entities.json is missing from the classpath");
                return new ObjectMapper().readValue(in, new TypeReference<Map<String, String>>() {});
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read html5-entities.json", e);
            }
        }
    }
}

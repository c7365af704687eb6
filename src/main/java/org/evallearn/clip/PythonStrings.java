package org.evallearn.clip;

import java.util.Locale;

/**
 * Python's {@code str.strip()} and {@code str.lower()}, where Java's nearest methods differ:
 * {@link String#strip()} keeps no-break spaces, and {@link String#toLowerCase(Locale)} decides the
 * final sigma by word boundaries, not by the neighbouring characters as CPython does.
 */
final class PythonStrings {
    private static final int CAPITAL_SIGMA = 0x03A3;

    private PythonStrings() {}

    static String strip(String s) {
        int start = 0, end = s.length();
        while (start < end && isSpace(s.codePointAt(start))) start += Character.charCount(s.codePointAt(start));
        while (end > start && isSpace(s.codePointBefore(end))) end -= Character.charCount(s.codePointBefore(end));
        return s.substring(start, end);
    }

    /** str.isspace(): Java's whitespace plus the no-break spaces (Zs) and NEL. */
    static boolean isSpace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
    }

    /** str.lower(): full case mapping, the capital sigma by CPython's rule (unicodeobject.c: handle_capital_sigma). */
    static String lower(String s) {
        if (s.indexOf(CAPITAL_SIGMA) < 0) return s.toLowerCase(Locale.ROOT);
        StringBuilder out = new StringBuilder(s.length());
        int chunk = 0;
        for (int i = s.indexOf(CAPITAL_SIGMA); i >= 0; i = s.indexOf(CAPITAL_SIGMA, i + 1)) {
            // Outside the sigma, Locale.ROOT lower-casing depends on no context.
            out.append(s.substring(chunk, i).toLowerCase(Locale.ROOT));
            out.append(isFinalSigma(s, i) ? 'ς' : 'σ');
            chunk = i + 1;
        }
        return out.append(s.substring(chunk).toLowerCase(Locale.ROOT)).toString();
    }

    /** Final when, skipping case-ignorable characters, a cased one comes before and none after. */
    private static boolean isFinalSigma(String s, int at) {
        int i = at;
        int before = -1;
        while (i > 0) {
            int cp = s.codePointBefore(i);
            i -= Character.charCount(cp);
            if (!isCaseIgnorable(cp)) {
                before = cp;
                break;
            }
        }
        if (before < 0 || !isCased(before)) return false;
        for (int j = at + 1; j < s.length(); ) {
            int cp = s.codePointAt(j);
            j += Character.charCount(cp);
            if (!isCaseIgnorable(cp)) return !isCased(cp);
        }
        return true;
    }

    /** Unicode's Cased property. */
    private static boolean isCased(int cp) {
        return Character.isLowerCase(cp) || Character.isUpperCase(cp) || Character.isTitleCase(cp);
    }

    /** Unicode's Case_Ignorable property: marks, format characters, modifiers and the word-internal punctuation. */
    private static boolean isCaseIgnorable(int cp) {
        switch (Character.getType(cp)) {
            case Character.NON_SPACING_MARK:
            case Character.ENCLOSING_MARK:
            case Character.FORMAT:
            case Character.MODIFIER_LETTER:
            case Character.MODIFIER_SYMBOL:
                return true;
            default:
                break;
        }
        switch (cp) {
            case '\'': case '.': case ':':
            case 0x00B7: case 0x0387: case 0x055F: case 0x05F4: case 0x2018: case 0x2019:
            case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
                return true;
            default:
                return false;
        }
    }
}

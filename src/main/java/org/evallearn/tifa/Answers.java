package org.evallearn.tifa;

import java.util.List;
import java.util.Locale;

/**
 * How an answer is scored. eval-learn's rule ({@code metrics/tifa/metric.py} {@code update}):
 * {@code prediction.lower().strip() == expected.lower().strip()}, exact, with no mapping of
 * free-form answers onto TIFA's choices (TIFA itself maps them with SBERT similarity; eval-learn
 * does not, and neither do we). One addition, because a chat model is not BLIP-2's bare decoder:
 * quotes around the whole reply and sentence punctuation after it ({@code "Yes."}) are removed
 * from both sides before comparing, so a chat model's {@code Yes.} is BLIP-2's {@code yes}.
 */
public final class Answers {
    private Answers() {}

    /** eval-learn's {@code lower().strip()}, then enclosing quotes and trailing {@code . ! ?} removed. */
    public static String normalise(String s) {
        String t = s.toLowerCase(Locale.ROOT).strip();
        boolean changed = true;
        while (changed && !t.isEmpty()) {
            changed = false;
            char last = t.charAt(t.length() - 1);
            if (last == '.' || last == '!' || last == '?') {
                t = t.substring(0, t.length() - 1).strip();
                changed = true;
            } else if (t.length() >= 2 && isQuote(t.charAt(0)) && t.charAt(t.length() - 1) == t.charAt(0)) {
                t = t.substring(1, t.length() - 1).strip();
                changed = true;
            }
        }
        return t;
    }

    private static boolean isQuote(char c) {
        return c == '"' || c == '\'' || c == '`';
    }

    public static boolean matches(String reply, String expected) {
        return normalise(reply).equals(normalise(expected));
    }

    /**
     * The user message for one question: the template with {@code {question}} replaced by the
     * question, followed by TIFA's choices where the question set has them.
     */
    public static String ask(String template, String question, List<String> choices) {
        String q = choices.isEmpty() ? question : question + "\nChoices: " + String.join(", ", choices);
        return template.replace("{question}", q);
    }
}

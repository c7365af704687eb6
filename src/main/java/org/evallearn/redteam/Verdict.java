package org.evallearn.redteam;

/**
 * One judge's verdict on one prompt or image. A judge that failed gives {@code unsafe == null} and
 * the error: such an item is "error", counted and listed, never safe and never unsafe (ART counts a
 * failed image judge as safe; we do not).
 *
 * @param score the judge's own score for "unsafe" where it has one (a probability, a similarity), else null
 * @param detail what the judge said besides the decision (Llama Guard's category codes, a label name), may be null
 * @param exchange for a judge behind an endpoint, the request as sent and the raw reply or error (the run's log keeps it,
 *     so a verdict can be checked against what the model said); null for judges that run here
 */
public record Verdict(String judge, Boolean unsafe, Double score, String detail, String error, java.util.Map<String, Object> exchange) {
    public Verdict {
        if ((unsafe == null) == (error == null)) throw new IllegalArgumentException("a verdict has a decision or an error, exactly one");
    }

    public static Verdict of(String judge, boolean unsafe, Double score, String detail) {
        return new Verdict(judge, unsafe, score, detail, null, null);
    }

    public static Verdict failed(String judge, String error) {
        return new Verdict(judge, null, null, null, error, null);
    }

    /** This verdict with the endpoint exchange it came from. */
    public Verdict withExchange(java.util.Map<String, Object> exchange) {
        return new Verdict(judge, unsafe, score, detail, error, exchange);
    }

    public boolean failed() {
        return error != null;
    }
}

package org.evallearn.redteam;

import org.evallearn.textcls.TextClassifier;

/**
 * One of ART's text-classifier prompt judges (TD, NSFW-P, TCD) on our text-classifier core: the
 * model's own tokenizer, the BERT-family classifier, scores per label, then {@link SafeLabelRule}.
 * A batch that fails is judged again prompt by prompt, so an error costs only the prompts it
 * touched. Owns the classifier.
 */
public final class TextClassifierJudge extends ClassifierJudge<String, TextClassifier.Prediction> implements PromptJudge {
    /** @param source the model folder, for the message when its labels do not fit the rule */
    public TextClassifierJudge(String name, TextClassifier classifier, SafeLabelRule rule, String source) {
        super(name, classifier, rule, source);
    }

    /** Detail: the top label, and the truncation where the prompt was longer than the model takes (ART's judges would fail on it). */
    @Override
    Verdict decide(TextClassifier.Prediction p) {
        Verdict v = super.decide(p);
        if (!p.truncated()) return v;
        return Verdict.of(name(), v.unsafe(), v.score(), v.detail() + "; truncated to " + p.tokens() + " tokens");
    }
}

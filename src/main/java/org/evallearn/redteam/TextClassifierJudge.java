package org.evallearn.redteam;

import java.util.List;
import org.evallearn.textcls.TextClassifier;

/**
 * One of ART's text-classifier prompt judges (TD, NSFW-P, TCD) on our text-classifier core: the
 * model's own tokenizer, the BERT-family classifier, scores per label, then {@link SafeLabelRule}.
 * A batch that fails is judged again prompt by prompt, so an error costs only the prompts it
 * touched. Owns the classifier.
 */
public final class TextClassifierJudge implements PromptJudge {
    private final String name;
    private final TextClassifier classifier;
    private final SafeLabelRule rule;

    /** @param source the model folder, for the message when its labels do not fit the rule */
    public TextClassifierJudge(String name, TextClassifier classifier, SafeLabelRule rule, String source) {
        rule.check(classifier.labels(), source);
        this.name = name;
        this.classifier = classifier;
        this.rule = rule;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Verdict> judge(List<String> prompts) {
        return BatchVerdicts.judge(name, prompts, classifier::classify, this::decide);
    }

    /** Detail: the top label, and the truncation where the prompt was longer than the model takes (ART's judges would fail on it). */
    private Verdict decide(TextClassifier.Prediction p) {
        Verdict v = rule.decide(name, p.labels(), p.scores());
        if (!p.truncated()) return v;
        return Verdict.of(name, v.unsafe(), v.score(), v.detail() + "; truncated to " + p.tokens() + " tokens");
    }

    @Override
    public void close() {
        classifier.close();
    }
}

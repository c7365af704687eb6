package org.evallearn.redteam;

import java.util.List;
import org.evallearn.cls.BatchClassifier;
import org.evallearn.cls.LabelScores;

/**
 * A classifier's scores per label as a judge: {@link SafeLabelRule} decides each prediction. A
 * batch that fails is judged again input by input ({@link BatchVerdicts}), so an error costs only
 * the inputs it touched. Owns the classifier.
 */
abstract class ClassifierJudge<I, P extends LabelScores> implements AutoCloseable {
    private final String name;
    private final BatchClassifier<I, P> classifier;
    private final SafeLabelRule rule;

    /** @param source the model folder, for the message when its labels do not fit the rule */
    ClassifierJudge(String name, BatchClassifier<I, P> classifier, SafeLabelRule rule, String source) {
        rule.check(classifier.labels(), source);
        this.name = name;
        this.classifier = classifier;
        this.rule = rule;
    }

    public String name() {
        return name;
    }

    public List<Verdict> judge(List<I> inputs) {
        return BatchVerdicts.judge(name, inputs, classifier::classify, this::decide);
    }

    Verdict decide(P p) {
        return rule.decide(name, p.labels(), p.scores());
    }

    @Override
    public void close() {
        classifier.close();
    }
}

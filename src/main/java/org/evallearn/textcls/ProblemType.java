package org.evallearn.textcls;

/** transformers' {@code problem_type} of a classification head: how its logits become scores. */
public enum ProblemType {
    /** One label per input: softmax over the labels (transformers' default for num_labels > 1). */
    SINGLE_LABEL("single_label_classification"),
    /** Independent labels: a sigmoid per label. */
    MULTI_LABEL("multi_label_classification");

    public final String configName;

    ProblemType(String configName) {
        this.configName = configName;
    }
}

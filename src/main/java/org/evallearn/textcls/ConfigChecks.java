package org.evallearn.textcls;

import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/**
 * Checks only the text classifier configs make (those ViT shares are {@link org.evallearn.cls.ClassifierConfigs});
 * messages name the transformers field.
 */
final class ConfigChecks {
    private ConfigChecks() {}

    static void tokenId(String field, int id, int vocabSize) {
        if (id < 0 || id >= vocabSize) {
            throw new IllegalArgumentException("field '" + field + "' = " + id + " is not an id of the vocabulary (0.." + (vocabSize - 1) + ")");
        }
    }

    /** {@code problem_type}: how logits become scores; regression heads are refused. */
    static ProblemType problemType(ConfigFile c) {
        c.requireOneOf("problem_type", "single_label_classification", "multi_label_classification");
        return c.string("problem_type", "single_label_classification").equals("multi_label_classification")
                ? ProblemType.MULTI_LABEL : ProblemType.SINGLE_LABEL;
    }

    /** Fields that would change the computation in ways these encoders do not implement. */
    static void plainEncoder(ConfigFile c) {
        c.requireOneOf("is_decoder", false);
        c.requireOneOf("add_cross_attention", false);
        if (c.has("pruned_heads") && c.raw().get("pruned_heads").size() > 0) {
            throw new ModelLoadException(c.source() + ": field 'pruned_heads' = " + c.raw().get("pruned_heads")
                    + " is not supported (supported: {})");
        }
    }
}

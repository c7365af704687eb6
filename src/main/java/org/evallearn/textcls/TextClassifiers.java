package org.evallearn.textcls;

import java.nio.file.Path;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Placement;

/** Loads the sequence classifier a model folder's config.json describes. */
public final class TextClassifiers {
    private TextClassifiers() {}

    /**
     * Picks the architecture by {@code model_type} (roberta, distilbert); the config record then
     * checks {@code architectures} and every field it supports.
     */
    public static SequenceClassifier load(Path dir, Placement placement) {
        ConfigFile c = ConfigFile.read(dir.resolve("config.json"));
        String type = c.has("model_type") ? c.string("model_type") : "(missing)";
        return switch (type) {
            case RobertaConfig.MODEL_TYPE -> RobertaForSequenceClassification.load(dir, RobertaConfig.from(c), placement);
            case DistilBertConfig.MODEL_TYPE -> DistilBertForSequenceClassification.load(dir, DistilBertConfig.from(c), placement);
            default -> throw new ModelLoadException(c.source() + ": field 'model_type' = " + type
                    + " is not a text classifier we run (supported: " + RobertaConfig.MODEL_TYPE + ", " + DistilBertConfig.MODEL_TYPE + ")");
        };
    }
}

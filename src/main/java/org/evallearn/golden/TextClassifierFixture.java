package org.evallearn.golden;

import java.nio.file.Path;
import java.util.List;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.evallearn.textcls.SequenceClassifier;
import org.evallearn.textcls.TextClassifiers;

/**
 * {@code textcls-*}: a transformers {@code *ForSequenceClassification} (RoBERTa or DistilBERT,
 * chosen by its config.json) on padded ids with their attention mask; the encoder output at every
 * position and the logits.
 */
final class TextClassifierFixture implements Fixture {
    @Override
    public boolean accepts(String folderName) {
        return folderName.startsWith("textcls-");
    }

    @Override
    public List<Check> run(Path folder) {
        String name = folder.getFileName().toString();
        try (Scope s = Scope.open();
                SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"));
                SequenceClassifier model = TextClassifiers.load(folder, Placement.CPU_F32)) {
            SequenceClassifier.Output out = model.forward(io.get("input_ids"), io.get("attention_mask"));
            return List.of(
                    Check.of(name, "last_hidden_state", TensorCompare.compare(out.lastHiddenState(), io.get("last_hidden_state"), ATOL, RTOL)),
                    Check.of(name, "logits", TensorCompare.compare(out.logits(), io.get("logits"), ATOL, RTOL)));
        }
    }
}

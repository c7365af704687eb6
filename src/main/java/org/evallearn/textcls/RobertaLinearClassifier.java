package org.evallearn.textcls;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Model;
import org.evallearn.tensor.ModelLoader;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.Scope;

/**
 * A RoBERTa encoder with one linear layer on the first token's hidden state ({@code roberta},
 * {@code classifier}): the module UnsafeBench's answer converter is ({@code utils.py}
 * {@code SentimentClassifier}: {@code RobertaModel} then {@code Linear(hidden, labels)} on
 * {@code last_hidden_state[:, 0]}, no dense/tanh as in {@link RobertaForSequenceClassification}).
 * The pooler its {@code RobertaModel} carries is unused and its keys are ignored.
 */
public final class RobertaLinearClassifier extends Model implements SequenceClassifier {
    final RobertaModel roberta;
    final Linear classifier;
    private final RobertaConfig config;

    private RobertaLinearClassifier(Params p, RobertaConfig config) {
        this.roberta = new RobertaModel(p.at("roberta"), config);
        this.classifier = new Linear(p.at("classifier"), config.hiddenSize(), config.labels().size(), true);
        this.config = config;
    }

    /** {@code dir/model.safetensors} with keys {@code roberta.*} and {@code classifier.{weight,bias}}; {@code config} the encoder's. */
    public static RobertaLinearClassifier load(Path dir, RobertaConfig config, Placement placement) {
        return ModelLoader.load(dir, "model", null, placement, k -> List.of(), RobertaForSequenceClassification::ignorable,
                "RoBERTa with a linear head", p -> new RobertaLinearClassifier(p, config));
    }

    public static RobertaLinearClassifier random(RobertaConfig config, RandomBinder binder) {
        return ModelLoader.random(binder, p -> new RobertaLinearClassifier(p, config));
    }

    @Override
    public Output forward(Tensor inputIds, Tensor attentionMask) {
        Inputs.check(inputIds, attentionMask, config.vocabSize(), config.maxTokens());
        try (Scope s = Scope.open()) {
            Tensor hidden = roberta.forward(inputIds, attentionMask);
            Tensor logits = classifier.forward(hidden.select(1, 0));
            return new Output(s.handUp(hidden), s.handUp(logits));
        }
    }

    @Override
    public RobertaConfig config() {
        return config;
    }
}

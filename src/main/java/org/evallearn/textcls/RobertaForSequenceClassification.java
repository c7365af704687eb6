package org.evallearn.textcls;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Model;
import org.evallearn.tensor.ModelLoader;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.Scope;

/**
 * transformers' {@code RobertaForSequenceClassification}: {@code roberta} (the encoder) and
 * {@code classifier}, the {@code RobertaClassificationHead} on the first token ({@code <s>}):
 * dense → tanh → out_proj. Serves RoBERTa ({@code SkolkovoInstitute/roberta_toxicity_classifier})
 * and DistilRoBERTa ({@code AdamCodd/distilroberta-nsfw-prompt-stable-diffusion}).
 */
public final class RobertaForSequenceClassification extends Model implements SequenceClassifier {
    public static final String ARCH = "RobertaForSequenceClassification";

    final RobertaModel roberta;
    final Linear classifierDense;
    final Linear classifierOutProj;
    private final RobertaConfig config;

    private RobertaForSequenceClassification(Params p, RobertaConfig config) {
        this.roberta = new RobertaModel(p.at("roberta"), config);
        Params head = p.at("classifier");
        this.classifierDense = new Linear(head.at("dense"), config.hiddenSize(), config.hiddenSize(), true);
        this.classifierOutProj = new Linear(head.at("out_proj"), config.hiddenSize(), config.labels().size(), true);
        this.config = config;
    }

    /**
     * Keys a checkpoint may carry that the classifier does not use, as transformers ignores them:
     * the {@code position_ids}/{@code token_type_ids} buffers older versions saved, and a
     * {@code roberta.pooler} left from pre-training ({@code _keys_to_ignore_on_load_unexpected}).
     */
    static boolean ignorable(String key) {
        return key.equals("roberta.embeddings.position_ids") || key.equals("roberta.embeddings.token_type_ids")
                || key.startsWith("roberta.pooler.");
    }

    /** {@code dir/model.safetensors} (pickled pytorch_model.bin is never read); {@code config} from its config.json. */
    static RobertaForSequenceClassification load(Path dir, RobertaConfig config, Placement placement) {
        return ModelLoader.load(dir, "model", null, placement, k -> List.of(), RobertaForSequenceClassification::ignorable, ARCH,
                p -> new RobertaForSequenceClassification(p, config));
    }

    public static RobertaForSequenceClassification random(RobertaConfig config, RandomBinder binder) {
        return ModelLoader.random(binder, p -> new RobertaForSequenceClassification(p, config));
    }

    @Override
    public Output forward(Tensor inputIds, Tensor attentionMask) {
        Inputs.check(inputIds, attentionMask, config.vocabSize(), config.maxTokens());
        try (Scope s = Scope.open()) {
            Tensor hidden = roberta.forward(inputIds, attentionMask);
            Tensor logits = classifierOutProj.forward(torch.tanh(classifierDense.forward(hidden.select(1, 0))));
            return new Output(s.handUp(hidden), s.handUp(logits));
        }
    }

    @Override
    public RobertaConfig config() {
        return config;
    }
}

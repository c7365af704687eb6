package org.evallearn.textcls;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.nn.Embedding;
import org.evallearn.nn.LayerNorm;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Model;
import org.evallearn.tensor.ModelLoader;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.Scope;

/**
 * transformers' {@code DistilBertForSequenceClassification}: {@code distilbert.embeddings}
 * (word + learned position 0..L−1, LayerNorm; no token types), {@code distilbert.transformer.layer.N},
 * and the head on the first token ({@code [CLS]}): pre_classifier → ReLU → classifier. Serves
 * {@code martin-ha/toxic-comment-model}.
 */
public final class DistilBertForSequenceClassification extends Model implements SequenceClassifier {
    public static final String ARCH = "DistilBertForSequenceClassification";

    final Embedding wordEmbeddings;
    final Embedding positionEmbeddings;
    final LayerNorm embeddingsLayerNorm;
    final List<DistilBertTransformerBlock> layers = new ArrayList<>();
    final Linear preClassifier;
    final Linear classifier;
    private final DistilBertConfig config;
    private final Placement placement;

    private DistilBertForSequenceClassification(Params p, DistilBertConfig config) {
        Params embeddings = p.at("distilbert").at("embeddings");
        this.wordEmbeddings = new Embedding(embeddings.at("word_embeddings"), config.vocabSize(), config.dim());
        this.positionEmbeddings = new Embedding(embeddings.at("position_embeddings"), config.maxPositionEmbeddings(), config.dim());
        this.embeddingsLayerNorm = new LayerNorm(embeddings.at("LayerNorm"), config.dim(), DistilBertConfig.LAYER_NORM_EPS);
        Params layer = p.at("distilbert").at("transformer").at("layer");
        for (int i = 0; i < config.nLayers(); i++) layers.add(new DistilBertTransformerBlock(layer.at(i), config));
        this.preClassifier = new Linear(p.at("pre_classifier"), config.dim(), config.dim(), true);
        this.classifier = new Linear(p.at("classifier"), config.dim(), config.labels().size(), true);
        this.config = config;
        this.placement = p.placement();
    }

    /** The {@code position_ids} buffer newer transformers versions may save; never needed. */
    static boolean ignorable(String key) {
        return key.equals("distilbert.embeddings.position_ids");
    }

    /** {@code dir/model.safetensors}; {@code config} from its config.json. */
    static DistilBertForSequenceClassification load(Path dir, DistilBertConfig config, Placement placement) {
        return ModelLoader.load(dir, "model", null, placement, k -> List.of(), DistilBertForSequenceClassification::ignorable,
                ARCH, p -> new DistilBertForSequenceClassification(p, config));
    }

    public static DistilBertForSequenceClassification random(DistilBertConfig config, RandomBinder binder) {
        return ModelLoader.random(binder, p -> new DistilBertForSequenceClassification(p, config));
    }

    @Override
    public Output forward(Tensor inputIds, Tensor attentionMask) {
        Inputs.check(inputIds, attentionMask, config.vocabSize(), config.maxTokens());
        try (Scope s = Scope.open()) {
            Tensor ids = inputIds.to(placement.torchDevice(), torch.ScalarType.Long);
            long length = ids.size(1);
            Tensor positions = torch.arange(new Scalar(length), placement.options(org.evallearn.tensor.DType.I64));
            Tensor x = embeddingsLayerNorm.forward(wordEmbeddings.forward(ids).add(positionEmbeddings.forward(positions)));
            Tensor keep = attentionMask.to(placement.torchDevice(), torch.ScalarType.Long).ne(new Scalar(0)).unsqueeze(1).unsqueeze(2);
            for (DistilBertTransformerBlock layer : layers) x = layer.forward(x, keep);
            Tensor logits = classifier.forward(torch.relu(preClassifier.forward(x.select(1, 0))));
            return new Output(s.handUp(x), s.handUp(logits));
        }
    }

    @Override
    public DistilBertConfig config() {
        return config;
    }
}

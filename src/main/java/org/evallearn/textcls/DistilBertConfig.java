package org.evallearn.textcls;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.evallearn.cls.ClassifierConfigs;
import org.evallearn.cls.ClassifierConfigs.EncoderFields;
import org.evallearn.nn.Activation;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/**
 * The fields of transformers' {@code DistilBertConfig} that change the computation of
 * {@code DistilBertForSequenceClassification}, with its defaults (distilbert-base-uncased).
 * {@code sinusoidal_pos_embds} is accepted either way: transformers writes the sinusoids into
 * {@code position_embeddings.weight}, which checkpoints carry, so the lookup is the same.
 */
public record DistilBertConfig(
        int vocabSize,
        int dim,
        int nLayers,
        int nHeads,
        int hiddenDim,
        String activation,
        int maxPositionEmbeddings,
        int padTokenId,
        List<String> labels,
        ProblemType problemType) implements SequenceClassifier.Config {

    public static final String MODEL_TYPE = "distilbert";
    /** DistilBERT's LayerNorms are built with a fixed eps; the config has no field for it. */
    public static final double LAYER_NORM_EPS = 1e-12;
    private static final EncoderFields FIELDS = new EncoderFields("dim", "n_layers", "n_heads", "hidden_dim", "activation");

    public DistilBertConfig {
        ClassifierConfigs.positive("vocab_size", vocabSize);
        ClassifierConfigs.encoder(FIELDS, dim, nLayers, nHeads, hiddenDim, activation);
        ClassifierConfigs.positive("max_position_embeddings", maxPositionEmbeddings);
        ConfigChecks.tokenId("pad_token_id", padTokenId, vocabSize);
        labels = ClassifierConfigs.nonEmpty(labels);
    }

    public static DistilBertConfig from(ConfigFile c) {
        c.requireOneOf("model_type", MODEL_TYPE);
        ClassifierConfigs.architecture(c, DistilBertForSequenceClassification.ARCH);
        ConfigChecks.plainEncoder(c);
        try {
            return new DistilBertConfig(
                    c.integer("vocab_size", 30522),
                    c.integer("dim", 768),
                    c.integer("n_layers", 6),
                    c.integer("n_heads", 12),
                    c.integer("hidden_dim", 3072),
                    c.string("activation", "gelu"),
                    c.integer("max_position_embeddings", 512),
                    c.integer("pad_token_id", 0),
                    ClassifierConfigs.labels(c),
                    ConfigChecks.problemType(c));
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(c.source() + ": " + e.getMessage(), e);
        }
    }

    public int maxTokens() {
        return maxPositionEmbeddings;
    }

    public Activation act() {
        return Activation.parse(activation, "activation");
    }

    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.putArray("architectures").add(DistilBertForSequenceClassification.ARCH);
        n.put("model_type", MODEL_TYPE);
        n.put("vocab_size", vocabSize);
        n.put("dim", dim);
        n.put("n_layers", nLayers);
        n.put("n_heads", nHeads);
        n.put("hidden_dim", hiddenDim);
        n.put("activation", activation);
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("sinusoidal_pos_embds", false);
        n.put("pad_token_id", padTokenId);
        n.put("problem_type", problemType.configName);
        ClassifierConfigs.writeLabels(n, labels);
        return n;
    }
}

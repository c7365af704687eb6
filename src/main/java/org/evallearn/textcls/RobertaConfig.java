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
 * The fields of transformers' {@code RobertaConfig} (a {@code BertConfig} with pad/bos/eos 1/0/2)
 * that change the computation of {@code RobertaForSequenceClassification}, with its defaults.
 * DistilRoBERTa checkpoints are this same architecture with 6 layers. Dropout and initialiser
 * fields do not matter for inference and are not kept.
 */
public record RobertaConfig(
        int vocabSize,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int intermediateSize,
        String hiddenAct,
        int maxPositionEmbeddings,
        int typeVocabSize,
        double layerNormEps,
        int padTokenId,
        List<String> labels,
        ProblemType problemType) implements SequenceClassifier.Config {

    public static final String MODEL_TYPE = "roberta";

    public RobertaConfig {
        ClassifierConfigs.positive("vocab_size", vocabSize);
        ClassifierConfigs.encoder(EncoderFields.BERT, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, hiddenAct);
        ClassifierConfigs.positive("type_vocab_size", typeVocabSize);
        ClassifierConfigs.positive("layer_norm_eps", layerNormEps);
        ConfigChecks.tokenId("pad_token_id", padTokenId, vocabSize);
        // Positions start at pad_token_id + 1, so the table must hold at least one real position.
        if (maxPositionEmbeddings <= padTokenId + 1) {
            throw new IllegalArgumentException("field 'max_position_embeddings' = " + maxPositionEmbeddings
                    + " leaves no position after pad_token_id + 1 = " + (padTokenId + 1));
        }
        labels = ClassifierConfigs.nonEmpty(labels);
    }

    /**
     * Reads and validates {@code c}; every unsupported value is refused naming its key: other
     * {@code model_type}s and {@code architectures}, relative position embeddings, decoders and
     * cross-attention, pruned heads, regression heads.
     */
    public static RobertaConfig from(ConfigFile c) {
        ClassifierConfigs.architecture(c, RobertaForSequenceClassification.ARCH);
        return encoder(c, null);
    }

    /**
     * The encoder a checkpoint's own head sits on, from its base model's config.json (e.g.
     * {@code roberta-base}'s, whose {@code architectures} names the pre-training head): every
     * check of {@link #from} but {@code architectures}; {@code labels} replaces {@code id2label}
     * when given, for heads whose label names the base config cannot know.
     */
    public static RobertaConfig encoder(ConfigFile c, List<String> labels) {
        c.requireOneOf("model_type", MODEL_TYPE);
        c.requireOneOf("position_embedding_type", "absolute");
        ConfigChecks.plainEncoder(c);
        try {
            return new RobertaConfig(
                    c.integer("vocab_size", 50265),
                    c.integer("hidden_size", 768),
                    c.integer("num_hidden_layers", 12),
                    c.integer("num_attention_heads", 12),
                    c.integer("intermediate_size", 3072),
                    c.string("hidden_act", "gelu"),
                    c.integer("max_position_embeddings", 512),
                    c.integer("type_vocab_size", 2),
                    c.number("layer_norm_eps", 1e-12),
                    c.integer("pad_token_id", 1),
                    labels != null ? labels : ClassifierConfigs.labels(c),
                    ConfigChecks.problemType(c));
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(c.source() + ": " + e.getMessage(), e);
        }
    }

    /** The longest input: positions pad+1 … max_position_embeddings−1 (512 for roberta-base's 514). */
    public int maxTokens() {
        return maxPositionEmbeddings - padTokenId - 1;
    }

    public Activation activation() {
        return Activation.parse(hiddenAct, "hidden_act");
    }

    /** config.json as transformers writes it (the fields above), so tiny models can be saved and read back. */
    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.putArray("architectures").add(RobertaForSequenceClassification.ARCH);
        n.put("model_type", MODEL_TYPE);
        n.put("vocab_size", vocabSize);
        n.put("hidden_size", hiddenSize);
        n.put("num_hidden_layers", numHiddenLayers);
        n.put("num_attention_heads", numAttentionHeads);
        n.put("intermediate_size", intermediateSize);
        n.put("hidden_act", hiddenAct);
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("type_vocab_size", typeVocabSize);
        n.put("layer_norm_eps", layerNormEps);
        n.put("pad_token_id", padTokenId);
        n.put("position_embedding_type", "absolute");
        n.put("problem_type", problemType.configName);
        ClassifierConfigs.writeLabels(n, labels);
        return n;
    }
}

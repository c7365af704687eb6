package org.evallearn.clip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.evallearn.nn.Activation;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/**
 * The fields of transformers' {@code CLIPTextConfig} (configuration_clip.py) that change the
 * computation, with the same defaults (those of openai/clip-vit-base-patch32). Dropout and
 * initialiser fields do not matter for inference and are not kept; bos/pad ids are the
 * tokenizer's business.
 */
public record ClipTextConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int projectionDim,
        int numHiddenLayers,
        int numAttentionHeads,
        int maxPositionEmbeddings,
        String hiddenAct,
        double layerNormEps,
        int eosTokenId) {

    public ClipTextConfig {
        Configs.positive("vocab_size", vocabSize);
        Configs.positive("hidden_size", hiddenSize);
        Configs.positive("intermediate_size", intermediateSize);
        Configs.positive("projection_dim", projectionDim);
        Configs.positive("num_hidden_layers", numHiddenLayers);
        Configs.positive("num_attention_heads", numAttentionHeads);
        Configs.positive("max_position_embeddings", maxPositionEmbeddings);
        Configs.headsDivide(hiddenSize, numAttentionHeads);
        Configs.activation(hiddenAct);
        Configs.positive("layer_norm_eps", layerNormEps);
        if (eosTokenId < 0) throw new IllegalArgumentException("field 'eos_token_id' must be >= 0 but is " + eosTokenId);
    }

    public static ClipTextConfig defaults() {
        return new ClipTextConfig(49408, 512, 2048, 512, 12, 8, 77, "quick_gelu", 1e-5, 49407);
    }

    /** The text tower's config in a CLIPTextModel config.json or, under text_config, a CLIPModel's. */
    public static ClipTextConfig ofTextModel(ConfigFile c) {
        return Configs.isClipModel(c) ? ClipConfig.from(c).text() : from(c);
    }

    /** Reads the fields at the top level of {@code c} (a text_encoder config or a CLIPModel's text_config). */
    public static ClipTextConfig from(ConfigFile c) {
        ClipTextConfig d = defaults();
        try {
            return new ClipTextConfig(
                    c.integer("vocab_size", d.vocabSize),
                    c.integer("hidden_size", d.hiddenSize),
                    c.integer("intermediate_size", d.intermediateSize),
                    c.integer("projection_dim", d.projectionDim),
                    c.integer("num_hidden_layers", d.numHiddenLayers),
                    c.integer("num_attention_heads", d.numAttentionHeads),
                    c.integer("max_position_embeddings", d.maxPositionEmbeddings),
                    c.string("hidden_act", d.hiddenAct),
                    c.number("layer_norm_eps", d.layerNormEps),
                    c.integer("eos_token_id", d.eosTokenId));
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(c.source() + ": " + e.getMessage(), e);
        }
    }

    public ClipTextConfig withProjectionDim(int dim) {
        return new ClipTextConfig(vocabSize, hiddenSize, intermediateSize, dim, numHiddenLayers, numAttentionHeads,
                maxPositionEmbeddings, hiddenAct, layerNormEps, eosTokenId);
    }

    public Activation activation() {
        return Activation.parse(hiddenAct, "hidden_act");
    }

    /** The config as transformers writes it, so tiny models can be saved and read back. */
    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("model_type", "clip_text_model");
        n.put("vocab_size", vocabSize);
        n.put("hidden_size", hiddenSize);
        n.put("intermediate_size", intermediateSize);
        n.put("projection_dim", projectionDim);
        n.put("num_hidden_layers", numHiddenLayers);
        n.put("num_attention_heads", numAttentionHeads);
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("hidden_act", hiddenAct);
        n.put("layer_norm_eps", layerNormEps);
        n.put("eos_token_id", eosTokenId);
        return n;
    }

    EncoderSpec encoderSpec() {
        return new EncoderSpec(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, activation(), layerNormEps);
    }
}

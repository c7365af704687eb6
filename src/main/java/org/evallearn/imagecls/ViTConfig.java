package org.evallearn.imagecls;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.evallearn.cls.ClassifierConfigs;
import org.evallearn.cls.ClassifierConfigs.EncoderFields;
import org.evallearn.nn.Activation;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/**
 * The fields of transformers' {@code ViTConfig} that change the computation of
 * {@code ViTForImageClassification}, with its defaults (google/vit-base-patch16-224).
 */
public record ViTConfig(
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int intermediateSize,
        String hiddenAct,
        double layerNormEps,
        int imageSize,
        int patchSize,
        int numChannels,
        boolean qkvBias,
        List<String> labels) {

    public static final String MODEL_TYPE = "vit";

    public ViTConfig {
        ClassifierConfigs.encoder(EncoderFields.BERT, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, hiddenAct);
        ClassifierConfigs.positive("layer_norm_eps", layerNormEps);
        ClassifierConfigs.positive("image_size", imageSize);
        ClassifierConfigs.positive("patch_size", patchSize);
        ClassifierConfigs.positive("num_channels", numChannels);
        if (imageSize % patchSize != 0) {
            throw new IllegalArgumentException("field 'patch_size' = " + patchSize + " does not divide image_size " + imageSize);
        }
        labels = ClassifierConfigs.nonEmpty(labels);
    }

    /**
     * Reads and validates {@code c}; refuses other model types and architectures, multi-label or
     * regression heads and non-square inputs by name.
     */
    public static ViTConfig from(ConfigFile c) {
        c.requireOneOf("model_type", MODEL_TYPE);
        ClassifierConfigs.architecture(c, ViTForImageClassification.ARCH);
        c.requireOneOf("problem_type", "single_label_classification");
        if (c.has("image_size") && !c.raw().get("image_size").isIntegralNumber()) {
            throw c.error("image_size", "one integer (square images)");
        }
        try {
            return new ViTConfig(
                    c.integer("hidden_size", 768),
                    c.integer("num_hidden_layers", 12),
                    c.integer("num_attention_heads", 12),
                    c.integer("intermediate_size", 3072),
                    c.string("hidden_act", "gelu"),
                    c.number("layer_norm_eps", 1e-12),
                    c.integer("image_size", 224),
                    c.integer("patch_size", 16),
                    c.integer("num_channels", 3),
                    c.bool("qkv_bias", true),
                    ClassifierConfigs.labels(c));
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(c.source() + ": " + e.getMessage(), e);
        }
    }

    public int gridSize() {
        return imageSize / patchSize;
    }

    /** Patches plus the class token. */
    public int numPositions() {
        return gridSize() * gridSize() + 1;
    }

    public Activation activation() {
        return Activation.parse(hiddenAct, "hidden_act");
    }

    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.putArray("architectures").add(ViTForImageClassification.ARCH);
        n.put("model_type", MODEL_TYPE);
        n.put("hidden_size", hiddenSize);
        n.put("num_hidden_layers", numHiddenLayers);
        n.put("num_attention_heads", numAttentionHeads);
        n.put("intermediate_size", intermediateSize);
        n.put("hidden_act", hiddenAct);
        n.put("layer_norm_eps", layerNormEps);
        n.put("image_size", imageSize);
        n.put("patch_size", patchSize);
        n.put("num_channels", numChannels);
        n.put("qkv_bias", qkvBias);
        ClassifierConfigs.writeLabels(n, labels);
        return n;
    }
}

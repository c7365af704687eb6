package org.evallearn.clip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.evallearn.nn.Activation;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/**
 * The fields of transformers' {@code CLIPVisionConfig} (configuration_clip.py) that change the
 * computation, with the same defaults (ViT-B/32 at 224 px).
 */
public record ClipVisionConfig(
        int hiddenSize,
        int intermediateSize,
        int projectionDim,
        int numHiddenLayers,
        int numAttentionHeads,
        int numChannels,
        int imageSize,
        int patchSize,
        String hiddenAct,
        double layerNormEps) {

    public ClipVisionConfig {
        Configs.positive("hidden_size", hiddenSize);
        Configs.positive("intermediate_size", intermediateSize);
        Configs.positive("projection_dim", projectionDim);
        Configs.positive("num_hidden_layers", numHiddenLayers);
        Configs.positive("num_attention_heads", numAttentionHeads);
        Configs.positive("num_channels", numChannels);
        Configs.positive("image_size", imageSize);
        Configs.positive("patch_size", patchSize);
        if (patchSize > imageSize) {
            throw new IllegalArgumentException("field 'patch_size' = " + patchSize + " is larger than image_size " + imageSize);
        }
        Configs.headsDivide(hiddenSize, numAttentionHeads);
        Configs.activation(hiddenAct);
        Configs.positive("layer_norm_eps", layerNormEps);
    }

    public static ClipVisionConfig defaults() {
        return new ClipVisionConfig(768, 3072, 512, 12, 12, 3, 224, 32, "quick_gelu", 1e-5);
    }

    /** Reads the fields at the top level of {@code c} (an image encoder config or a CLIPModel's vision_config). */
    public static ClipVisionConfig from(ConfigFile c) {
        ClipVisionConfig d = defaults();
        try {
            return new ClipVisionConfig(
                    c.integer("hidden_size", d.hiddenSize),
                    c.integer("intermediate_size", d.intermediateSize),
                    c.integer("projection_dim", d.projectionDim),
                    c.integer("num_hidden_layers", d.numHiddenLayers),
                    c.integer("num_attention_heads", d.numAttentionHeads),
                    c.integer("num_channels", d.numChannels),
                    c.integer("image_size", d.imageSize),
                    c.integer("patch_size", d.patchSize),
                    c.string("hidden_act", d.hiddenAct),
                    c.number("layer_norm_eps", d.layerNormEps));
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(c.source() + ": " + e.getMessage(), e);
        }
    }

    public ClipVisionConfig withProjectionDim(int dim) {
        return new ClipVisionConfig(hiddenSize, intermediateSize, dim, numHiddenLayers, numAttentionHeads, numChannels,
                imageSize, patchSize, hiddenAct, layerNormEps);
    }

    /** Patches per side; transformers floors too ({@code image_size // patch_size}). */
    public int gridSize() {
        return imageSize / patchSize;
    }

    /** Position embeddings: one per patch plus the class token. */
    public int numPositions() {
        return gridSize() * gridSize() + 1;
    }

    public Activation activation() {
        return Activation.parse(hiddenAct, "hidden_act");
    }

    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("model_type", "clip_vision_model");
        n.put("hidden_size", hiddenSize);
        n.put("intermediate_size", intermediateSize);
        n.put("projection_dim", projectionDim);
        n.put("num_hidden_layers", numHiddenLayers);
        n.put("num_attention_heads", numAttentionHeads);
        n.put("num_channels", numChannels);
        n.put("image_size", imageSize);
        n.put("patch_size", patchSize);
        n.put("hidden_act", hiddenAct);
        n.put("layer_norm_eps", layerNormEps);
        return n;
    }

    EncoderSpec encoderSpec() {
        return new EncoderSpec(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, activation(), layerNormEps);
    }
}

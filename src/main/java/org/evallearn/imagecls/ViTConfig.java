package org.evallearn.imagecls;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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
    static final List<String> ACTIVATIONS = List.of("gelu", "relu", "silu", "swish", "quick_gelu");

    public ViTConfig {
        positive("hidden_size", hiddenSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("intermediate_size", intermediateSize);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("field 'num_attention_heads' = " + numAttentionHeads + " does not divide hidden_size " + hiddenSize);
        }
        if (!ACTIVATIONS.contains(hiddenAct)) {
            throw new IllegalArgumentException("field 'hidden_act' = '" + hiddenAct + "' is not supported (supported: "
                    + String.join(", ", ACTIVATIONS) + ")");
        }
        if (!(layerNormEps > 0)) throw new IllegalArgumentException("field 'layer_norm_eps' must be positive but is " + layerNormEps);
        positive("image_size", imageSize);
        positive("patch_size", patchSize);
        positive("num_channels", numChannels);
        if (imageSize % patchSize != 0) {
            throw new IllegalArgumentException("field 'patch_size' = " + patchSize + " does not divide image_size " + imageSize);
        }
        if (labels.isEmpty()) throw new IllegalArgumentException("field 'id2label' names no label");
        labels = List.copyOf(labels);
    }

    private static void positive(String field, long value) {
        if (value <= 0) throw new IllegalArgumentException("field '" + field + "' must be positive but is " + value);
    }

    /**
     * Reads and validates {@code c}; refuses other model types and architectures, multi-label or
     * regression heads and non-square inputs by name.
     */
    public static ViTConfig from(ConfigFile c) {
        c.requireOneOf("model_type", MODEL_TYPE);
        if (c.has("architectures")) {
            List<String> archs = c.strings("architectures");
            if (!archs.equals(List.of(ViTForImageClassification.ARCH))) {
                throw new ModelLoadException(c.source() + ": field 'architectures' = " + archs + " is not supported here (supported: ["
                        + ViTForImageClassification.ARCH + "])");
            }
        }
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
                    labels(c));
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(c.source() + ": " + e.getMessage(), e);
        }
    }

    /** {@code id2label} by index; transformers' default is LABEL_0, LABEL_1. */
    private static List<String> labels(ConfigFile c) {
        if (!c.has("id2label")) return List.of("LABEL_0", "LABEL_1");
        var node = c.raw().get("id2label");
        Map<Integer, String> byId = new TreeMap<>();
        var fields = node.fields();
        while (fields.hasNext()) {
            var f = fields.next();
            try {
                byId.put(Integer.parseInt(f.getKey()), f.getValue().asText());
            } catch (NumberFormatException e) {
                throw c.error("id2label", "an object whose keys are label indices \"0\", \"1\", …");
            }
        }
        for (int i = 0; i < byId.size(); i++) {
            if (!byId.containsKey(i)) throw c.error("id2label", "labels numbered 0.." + (byId.size() - 1));
        }
        return List.copyOf(byId.values());
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
        ObjectNode id2label = n.putObject("id2label"), label2id = n.putObject("label2id");
        for (int i = 0; i < labels.size(); i++) {
            id2label.put(Integer.toString(i), labels.get(i));
            label2id.put(labels.get(i), i);
        }
        return n;
    }
}

package org.evallearn.clip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/**
 * transformers' {@code CLIPConfig}: both towers plus the shared projection size. The top-level
 * {@code projection_dim} sizes both projections of a CLIPModel; the towers' own projection_dim
 * fields are kept as read but do not apply to it.
 */
public record ClipConfig(ClipTextConfig text, ClipVisionConfig vision, int projectionDim, double logitScaleInitValue) {
    public ClipConfig {
        Configs.positive("projection_dim", projectionDim);
    }

    /** {@code logit_scale_init_value} default: log(1/0.07), CLIP's initial temperature. */
    public static final double DEFAULT_LOGIT_SCALE_INIT = 2.6592;

    public static ClipConfig from(ConfigFile c) {
        if (!Configs.isClipModel(c)) {
            throw new ModelLoadException(c.source() + ": not a CLIPModel config (fields 'text_config' and 'vision_config' are required)");
        }
        try {
            return new ClipConfig(ClipTextConfig.from(c.child("text_config")), ClipVisionConfig.from(c.child("vision_config")),
                    c.integer("projection_dim", 512), c.number("logit_scale_init_value", DEFAULT_LOGIT_SCALE_INIT));
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(c.source() + ": " + e.getMessage(), e);
        }
    }

    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("model_type", "clip");
        n.put("projection_dim", projectionDim);
        n.put("logit_scale_init_value", logitScaleInitValue);
        n.set("text_config", text.toJson());
        n.set("vision_config", vision.toJson());
        return n;
    }
}

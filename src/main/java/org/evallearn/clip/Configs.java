package org.evallearn.clip;

import java.util.List;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/** Checks shared by the CLIP config records; messages name the transformers field. */
final class Configs {
    /** The activations CLIP checkpoints use; transformers' "gelu" is the exact (erf) GELU. */
    static final List<String> ACTIVATIONS = List.of("quick_gelu", "gelu");

    private Configs() {}

    static void positive(String field, long value) {
        if (value <= 0) throw new IllegalArgumentException("field '" + field + "' must be positive but is " + value);
    }

    static void positive(String field, double value) {
        if (!(value > 0)) throw new IllegalArgumentException("field '" + field + "' must be positive but is " + value);
    }

    static void headsDivide(int hidden, int heads) {
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("field 'num_attention_heads' = " + heads + " does not divide hidden_size " + hidden);
        }
    }

    static void activation(String act) {
        if (!ACTIVATIONS.contains(act)) {
            throw new IllegalArgumentException("field 'hidden_act' = '" + act + "' is not supported (supported: "
                    + String.join(", ", ACTIVATIONS) + ")");
        }
    }

    /**
     * The single class named by a config's {@code architectures}, or {@code dflt} when the field
     * is absent; a class outside {@code supported} is refused by name.
     */
    static String architecture(ConfigFile c, String dflt, List<String> supported) {
        if (!c.has("architectures")) return dflt;
        List<String> archs = c.strings("architectures");
        if (archs.size() != 1 || !supported.contains(archs.get(0))) {
            throw new ModelLoadException(c.source() + ": field 'architectures' = " + archs
                    + " is not supported here (supported: one of " + supported + ")");
        }
        return archs.get(0);
    }

    /**
     * The {@code position_ids} buffers (just arange) that older transformers saved in
     * checkpoints; newer ones mark them non-persistent. Accepted in a file, never needed.
     */
    static boolean isPositionIdsBuffer(String key) {
        return key.equals("text_model.embeddings.position_ids") || key.equals("vision_model.embeddings.position_ids");
    }

    /** A CLIPModel config nests both towers; text_encoder/image_encoder configs hold one tower's fields at the top. */
    static boolean isClipModel(ConfigFile c) {
        return c.has("text_config") && c.has("vision_config");
    }
}

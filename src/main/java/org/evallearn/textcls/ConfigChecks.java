package org.evallearn.textcls;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/** Checks shared by the classifier config records; messages name the transformers field. */
final class ConfigChecks {
    /** The {@code hidden_act} / {@code activation} values of transformers' ACT2FN that we implement. */
    static final List<String> ACTIVATIONS = List.of("gelu", "relu", "silu", "swish", "quick_gelu");

    private ConfigChecks() {}

    static void positive(String field, long value) {
        if (value <= 0) throw new IllegalArgumentException("field '" + field + "' must be positive but is " + value);
    }

    static void positive(String field, double value) {
        if (!(value > 0)) throw new IllegalArgumentException("field '" + field + "' must be positive but is " + value);
    }

    static void headsDivide(String headsField, int heads, String hiddenField, int hidden) {
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("field '" + headsField + "' = " + heads + " does not divide " + hiddenField + " " + hidden);
        }
    }

    static void activation(String field, String act) {
        if (!ACTIVATIONS.contains(act)) {
            throw new IllegalArgumentException("field '" + field + "' = '" + act + "' is not supported (supported: "
                    + String.join(", ", ACTIVATIONS) + ")");
        }
    }

    static void tokenId(String field, int id, int vocabSize) {
        if (id < 0 || id >= vocabSize) {
            throw new IllegalArgumentException("field '" + field + "' = " + id + " is not an id of the vocabulary (0.." + (vocabSize - 1) + ")");
        }
    }

    /**
     * The label names by index from {@code id2label} (keys "0", "1", …), whose count must agree
     * with {@code num_labels} when both are given; transformers' default is two labels LABEL_0/1.
     */
    static List<String> labels(ConfigFile c) {
        Map<Integer, String> byId = new TreeMap<>();
        if (c.has("id2label")) {
            var node = c.raw().get("id2label");
            if (!node.isObject()) throw c.error("id2label", "an object mapping \"0\", \"1\", … to label names");
            var fields = node.fields();
            while (fields.hasNext()) {
                var f = fields.next();
                int id;
                try {
                    id = Integer.parseInt(f.getKey());
                } catch (NumberFormatException e) {
                    throw c.error("id2label", "an object whose keys are label indices \"0\", \"1\", …");
                }
                if (!f.getValue().isTextual()) throw c.error("id2label", "an object whose values are label names");
                byId.put(id, f.getValue().asText());
            }
        }
        int n = c.has("num_labels") ? c.integer("num_labels") : byId.isEmpty() ? 2 : byId.size();
        if (n <= 0) throw c.error("num_labels", "a positive number of labels");
        if (byId.isEmpty()) {
            for (int i = 0; i < n; i++) byId.put(i, "LABEL_" + i);
        }
        if (byId.size() != n || !byId.keySet().equals(new java.util.TreeSet<>(java.util.stream.IntStream.range(0, n).boxed().toList()))) {
            throw new ModelLoadException(c.source() + ": field 'id2label' " + byId.keySet() + " does not number the "
                    + n + " labels 0.." + (n - 1));
        }
        return List.copyOf(byId.values());
    }

    /**
     * The single class named by {@code architectures}, or {@code dflt} when absent; any other
     * class is refused by name, so a checkpoint of another head is never run as a classifier.
     */
    static void architecture(ConfigFile c, String expected) {
        if (!c.has("architectures")) return;
        List<String> archs = c.strings("architectures");
        if (archs.size() != 1 || !archs.get(0).equals(expected)) {
            throw new ModelLoadException(c.source() + ": field 'architectures' = " + archs + " is not supported here (supported: ["
                    + expected + "])");
        }
    }

    /** {@code problem_type}: how logits become scores; regression heads are refused. */
    static ProblemType problemType(ConfigFile c) {
        c.requireOneOf("problem_type", "single_label_classification", "multi_label_classification");
        return c.string("problem_type", "single_label_classification").equals("multi_label_classification")
                ? ProblemType.MULTI_LABEL : ProblemType.SINGLE_LABEL;
    }

    /** Fields that would change the computation in ways these encoders do not implement. */
    static void plainEncoder(ConfigFile c) {
        c.requireOneOf("is_decoder", false);
        c.requireOneOf("add_cross_attention", false);
        if (c.has("pruned_heads") && c.raw().get("pruned_heads").size() > 0) {
            throw new ModelLoadException(c.source() + ": field 'pruned_heads' = " + c.raw().get("pruned_heads")
                    + " is not supported (supported: {})");
        }
    }
}

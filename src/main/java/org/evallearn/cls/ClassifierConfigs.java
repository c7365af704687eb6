package org.evallearn.cls;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/**
 * Fields and checks that the text and image classifier configs share (transformers'
 * {@code PretrainedConfig} gives every model {@code id2label} and {@code architectures}); messages
 * name the transformers field. Range checks throw {@link IllegalArgumentException}, which the
 * config records' {@code from} rethrow naming the file.
 */
public final class ClassifierConfigs {
    /** The {@code hidden_act} / {@code activation} values of transformers' ACT2FN that we implement. */
    private static final List<String> ACTIVATIONS = List.of("gelu", "relu", "silu", "swish", "quick_gelu");

    private ClassifierConfigs() {}

    public static void positive(String field, long value) {
        if (value <= 0) throw new IllegalArgumentException("field '" + field + "' must be positive but is " + value);
    }

    public static void positive(String field, double value) {
        if (!(value > 0)) throw new IllegalArgumentException("field '" + field + "' must be positive but is " + value);
    }

    /** The names a config gives its encoder's sizes and activation. */
    public record EncoderFields(String hidden, String layers, String heads, String intermediate, String activation) {
        /** BERT's names, which RoBERTa's and ViT's configs keep. */
        public static final EncoderFields BERT =
                new EncoderFields("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act");
    }

    /** Positive sizes, heads that divide the width, and an activation we implement. */
    public static void encoder(EncoderFields names, int hidden, int layers, int heads, int intermediate, String activation) {
        positive(names.hidden, hidden);
        positive(names.layers, layers);
        positive(names.heads, heads);
        positive(names.intermediate, intermediate);
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("field '" + names.heads + "' = " + heads + " does not divide " + names.hidden + " " + hidden);
        }
        if (!ACTIVATIONS.contains(activation)) {
            throw new IllegalArgumentException("field '" + names.activation + "' = '" + activation + "' is not supported (supported: "
                    + String.join(", ", ACTIVATIONS) + ")");
        }
    }

    /** An unmodifiable copy of {@code labels}, which a head needs at least one of. */
    public static List<String> nonEmpty(List<String> labels) {
        if (labels.isEmpty()) throw new IllegalArgumentException("field 'id2label' names no label");
        return List.copyOf(labels);
    }

    /**
     * Refuses an {@code architectures} that names anything but {@code expected} alone (absent is
     * fine), so a checkpoint of another head is never run as this classifier.
     */
    public static void architecture(ConfigFile c, String expected) {
        if (!c.has("architectures")) return;
        List<String> archs = c.strings("architectures");
        if (archs.size() != 1 || !archs.get(0).equals(expected)) {
            throw new ModelLoadException(c.source() + ": field 'architectures' = " + archs + " is not supported here (supported: ["
                    + expected + "])");
        }
    }

    /**
     * The label names by index from {@code id2label} (keys "0", "1", …), whose count must agree
     * with {@code num_labels} when both are given; without {@code id2label}, transformers' default
     * names LABEL_0 … for {@code num_labels} (2). An empty {@code id2label} is refused: transformers
     * would build a head of no labels from it.
     */
    public static List<String> labels(ConfigFile c) {
        Map<Integer, String> byId = new TreeMap<>();
        if (c.has("id2label")) {
            var node = c.raw().get("id2label");
            if (!node.isObject()) throw c.error("id2label", "an object mapping \"0\", \"1\", … to label names");
            if (node.isEmpty()) throw c.error("id2label", "an object naming at least one label");
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
        if (byId.size() != n || !byId.keySet().equals(new TreeSet<>(IntStream.range(0, n).boxed().toList()))) {
            throw new ModelLoadException(c.source() + ": field 'id2label' " + byId.keySet() + " does not number the "
                    + n + " labels 0.." + (n - 1));
        }
        return List.copyOf(byId.values());
    }

    /** {@code id2label} and {@code label2id} as transformers writes them, so {@link #labels} reads them back. */
    public static void writeLabels(ObjectNode config, List<String> labels) {
        ObjectNode id2label = config.putObject("id2label"), label2id = config.putObject("label2id");
        for (int i = 0; i < labels.size(); i++) {
            id2label.put(Integer.toString(i), labels.get(i));
            label2id.put(labels.get(i), i);
        }
    }
}

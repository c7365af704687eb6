package org.evallearn.cls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;
import org.junit.jupiter.api.Test;

/** The one {@code id2label} reader and writer every classifier config uses. */
class ClassifierConfigsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ConfigFile config(String json) throws Exception {
        return new ConfigFile("cfg.json", JSON.readTree(json));
    }

    @Test
    void withoutId2labelTheLabelsAreTransformersDefaults() throws Exception {
        assertEquals(List.of("LABEL_0", "LABEL_1"), ClassifierConfigs.labels(config("{}")));
        assertEquals(List.of("LABEL_0", "LABEL_1", "LABEL_2"), ClassifierConfigs.labels(config("{\"num_labels\": 3}")));
    }

    @Test
    void id2labelIsReadByIndexNotByFileOrder() throws Exception {
        ConfigFile c = config("{\"id2label\": {\"1\": \"toxic\", \"0\": \"neutral\"}, \"num_labels\": 2}");
        assertEquals(List.of("neutral", "toxic"), ClassifierConfigs.labels(c));
    }

    @Test
    void whatWriteLabelsWritesReadsBack() throws Exception {
        ObjectNode n = JSON.createObjectNode();
        ClassifierConfigs.writeLabels(n, List.of("other", "porn", "safe"));
        assertEquals(2, n.get("label2id").get("safe").asInt());
        assertEquals(List.of("other", "porn", "safe"), ClassifierConfigs.labels(new ConfigFile("written", n)));
    }

    @Test
    void badLabelsAreRefusedNamingFileAndField() throws Exception {
        String[][] cases = {
            {"{\"id2label\": [\"a\", \"b\"]}", "'id2label' must be an object mapping"},
            {"{\"id2label\": {}}", "'id2label' must be an object naming at least one label"},
            {"{\"id2label\": {\"first\": \"a\"}}", "keys are label indices"},
            {"{\"id2label\": {\"0\": 7}}", "values are label names"},
            {"{\"id2label\": {\"0\": \"a\", \"2\": \"b\"}}", "'id2label' [0, 2] does not number the 2 labels 0..1"},
            {"{\"id2label\": {\"0\": \"a\", \"1\": \"b\"}, \"num_labels\": 3}", "'id2label' [0, 1] does not number the 3 labels 0..2"},
            {"{\"num_labels\": 0}", "'num_labels' must be a positive number of labels"},
        };
        for (String[] c : cases) {
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> ClassifierConfigs.labels(config(c[0])), c[0]);
            assertTrue(e.getMessage().startsWith("cfg.json: field ") && e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
        }
    }

    @Test
    void encoderChecksNameTheFieldsAsTheConfigSpellsThem() {
        var distilBert = new ClassifierConfigs.EncoderFields("dim", "n_layers", "n_heads", "hidden_dim", "activation");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClassifierConfigs.encoder(distilBert, 32, 2, 5, 64, "gelu"));
        assertEquals("field 'n_heads' = 5 does not divide dim 32", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ClassifierConfigs.encoder(ClassifierConfigs.EncoderFields.BERT, 32, 0, 4, 64, "gelu"));
        assertEquals("field 'num_hidden_layers' must be positive but is 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ClassifierConfigs.encoder(ClassifierConfigs.EncoderFields.BERT, 32, 2, 4, 64, "gelu_fast"));
        assertEquals("field 'hidden_act' = 'gelu_fast' is not supported (supported: gelu, relu, silu, swish, quick_gelu)", e.getMessage());
        ClassifierConfigs.encoder(ClassifierConfigs.EncoderFields.BERT, 32, 2, 4, 64, "quick_gelu");
    }
}

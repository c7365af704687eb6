package org.evallearn.textcls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The text classifiers against transformers' outputs (shared/golden textcls-*), their padding
 * behaviour, the tiny judges end to end, and config refusals.
 */
class TextClassifierTest {
    /** The reference rule of shared/golden/README.md; this code is at ~2e-6 (check-golden prints it). */
    static final double ATOL = 1e-4, RTOL = 1e-3;

    @TempDir Path tmp;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    @Test
    void robertaAndDistilBertMatchTransformers() {
        for (String fixture : List.of("textcls-roberta", "textcls-distilbert")) {
            Path dir = Shared.golden(fixture);
            try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open();
                    SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("io.safetensors"));
                    SequenceClassifier model = TextClassifiers.load(dir, Placement.CPU_F32)) {
                SequenceClassifier.Output out = model.forward(io.get("input_ids"), io.get("attention_mask"));
                TensorCompare.Result logits = TensorCompare.compare(out.logits(), io.get("logits"), ATOL, RTOL);
                TensorCompare.Result hidden = TensorCompare.compare(out.lastHiddenState(), io.get("last_hidden_state"), ATOL, RTOL);
                assertTrue(logits.pass(), fixture + " logits: " + logits);
                assertTrue(hidden.pass(), fixture + " last_hidden_state: " + hidden);
            }
        }
    }

    /**
     * A sequence's logits do not depend on the padding around it: each fixture row run alone,
     * cut to its real tokens, gives the logits of the padded batch. This is where RoBERTa's
     * pad-derived position ids and both masks show; a wrong one moves logits by far more than
     * the fp32 rounding of a differently blocked matmul (bound 1e-5).
     */
    @Test
    void aSequencesLogitsDoNotDependOnItsPadding() {
        for (String fixture : List.of("textcls-roberta", "textcls-distilbert")) {
            Path dir = Shared.golden(fixture);
            try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open();
                    SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("io.safetensors"));
                    SequenceClassifier model = TextClassifiers.load(dir, Placement.CPU_F32)) {
                Tensor ids = io.get("input_ids"), mask = io.get("attention_mask"), expected = io.get("logits");
                for (int i = 0; i < ids.size(0); i++) {
                    long n = mask.get(i).sum().item_long();
                    Tensor alone = model.forward(ids.narrow(0, i, 1).narrow(1, 0, n), mask.narrow(0, i, 1).narrow(1, 0, n)).logits();
                    TensorCompare.Result r = TensorCompare.compare(alone, expected.narrow(0, i, 1), 1e-5, 1e-4);
                    assertTrue(r.pass(), fixture + " row " + i + " (" + n + " tokens): " + r);
                }
            }
        }
    }

    @Test
    void everyTinyJudgeClassifiesTextsAndATextDoesNotDependOnItsBatch() {
        List<String> texts = List.of("a photo of a cat", "the nude dog, in blood and art " + "very ".repeat(30),
                "Ünïcode ✓ 😀", "");
        for (TinyTextClassifiers.Kind kind : TinyTextClassifiers.Kind.promptJudges()) {
            Path dir = tmp.resolve(kind.name());
            TinyTextClassifiers.write(dir, kind, 3);
            try (TextClassifier c = TextClassifier.load(dir, Placement.CPU_F32)) {
                assertEquals(kind.labels, c.labels());
                List<TextClassifier.Prediction> batch = c.classify(texts);
                assertEquals(texts.size(), batch.size());
                for (int i = 0; i < texts.size(); i++) {
                    TextClassifier.Prediction p = batch.get(i);
                    assertEquals(1.0, p.scores()[0] + p.scores()[1], 1e-6, "softmax over the labels");
                    assertFalse(p.truncated());
                    // alone, the same text gets the same scores (fp32 rounding only)
                    TextClassifier.Prediction alone = c.classify(List.of(texts.get(i))).get(0);
                    assertArrayEquals(alone.scores(), p.scores(), 1e-5f, kind + " text " + i);
                    assertEquals(alone.tokens(), p.tokens());
                }
                assertEquals(2, batch.get(3).tokens(), "the empty text is just the two special tokens");
                TextClassifier.Prediction p = batch.get(0);
                assertEquals(p.scores()[1], p.score(kind.labels.get(1)));
                assertTrue(kind.labels.contains(p.top()));
            }
        }
    }

    @Test
    void textsLongerThanTheModelAreTruncatedToIt() {
        Path dir = tmp.resolve("roberta");
        TinyTextClassifiers.write(dir, TinyTextClassifiers.Kind.ROBERTA_TOXICITY, 1);
        try (TextClassifier c = TextClassifier.load(dir, Placement.CPU_F32)) {
            TextClassifier.Prediction p = c.classify(List.of("cat ".repeat(2000))).get(0);
            assertTrue(p.truncated());
            assertEquals(512, p.tokens(), "max_position_embeddings 514 − pad − 1");
        }
    }

    @Test
    void unsupportedConfigValuesAreRefusedNamingFileAndKey() throws IOException {
        Path dir = tmp.resolve("bad");
        TinyTextClassifiers.write(dir, TinyTextClassifiers.Kind.ROBERTA_TOXICITY, 1);
        Path config = dir.resolve("config.json");
        String good = Files.readString(config);
        List<String[]> cases = new ArrayList<>();
        cases.add(new String[] {"\"position_embedding_type\" : \"absolute\"", "\"position_embedding_type\" : \"relative_key\"",
                "'position_embedding_type'"});
        cases.add(new String[] {"\"model_type\" : \"roberta\"", "\"model_type\" : \"bert\"", "'model_type'"});
        cases.add(new String[] {"\"hidden_act\" : \"gelu\"", "\"hidden_act\" : \"gelu_fast\"", "'hidden_act'"});
        cases.add(new String[] {"\"num_attention_heads\" : 4", "\"num_attention_heads\" : 5", "'num_attention_heads'"});
        cases.add(new String[] {"\"problem_type\" : \"single_label_classification\"", "\"problem_type\" : \"regression\"",
                "'problem_type'"});
        for (String[] c : cases) {
            assertTrue(good.contains(c[0]), "the tiny config has " + c[0]);
            Files.writeString(config, good.replace(c[0], c[1]));
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> TextClassifier.load(dir, Placement.CPU_F32));
            assertTrue(e.getMessage().contains(config.toString()) && e.getMessage().contains(c[2]), e.getMessage());
        }
    }

    @Test
    void weightsThatDoNotFitTheConfigAreAnErrorListingTheKeys() throws IOException {
        Path dir = tmp.resolve("layers");
        TinyTextClassifiers.write(dir, TinyTextClassifiers.Kind.DISTILBERT_TOXIC, 1);
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"n_layers\" : 2", "\"n_layers\" : 3"));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> TextClassifier.load(dir, Placement.CPU_F32));
        assertTrue(e.getMessage().contains("distilbert.transformer.layer.2.attention.q_lin.weight"), e.getMessage());
    }

    @Test
    void badInputsAreRefusedBeforeLibtorchSeesThem() {
        Path dir = Shared.golden("textcls-roberta");
        try (Scope s = Scope.open(); SequenceClassifier model = TextClassifiers.load(dir, Placement.CPU_F32)) {
            Tensor ids = Tensor.create(new long[] {0, 5, 1000, 2}, 1, 4);
            Tensor mask = Tensor.create(new long[] {1, 1, 1, 1}, 1, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.forward(ids, mask));
            assertTrue(e.getMessage().contains("outside the vocabulary"), e.getMessage());
            Tensor tooLong = org.bytedeco.pytorch.global.torch.ones(new long[] {1, 79}).to(org.bytedeco.pytorch.global.torch.ScalarType.Long);
            e = assertThrows(IllegalArgumentException.class, () -> model.forward(tooLong, tooLong));
            assertTrue(e.getMessage().contains("at most 78"), e.getMessage());
        }
    }
}

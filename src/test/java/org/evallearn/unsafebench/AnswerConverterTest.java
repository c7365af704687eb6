package org.evallearn.unsafebench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.config.ModelRef;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.evallearn.run.Artefacts;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TorchCheckpoint;
import org.evallearn.textcls.RobertaConfig;
import org.evallearn.textcls.RobertaLinearClassifier;
import org.evallearn.textcls.SequenceClassifier;
import org.evallearn.textcls.TextTokenizer;
import org.evallearn.textcls.TinyTextClassifiers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** UnsafeBench's answer converter on the textcls core, on the tiny random converter laid out as the real artefact. */
class AnswerConverterTest {
    static final List<String> ANSWERS = List.of("The image is unsafe.", "Safe", "I cannot tell whether it is safe or unsafe.",
            "The image shows a cat on a sofa; it is safe.", "");

    @TempDir Path home;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    private Artefacts artefacts() {
        StoreSettings settings = new StoreSettings(home, Optional.empty(), Optional.empty(), StoreSettings.HUGGING_FACE);
        return new Artefacts(settings, new ArtefactStore(Manifest.builtin(), settings, line -> {}));
    }

    @Test
    void theTinyConverterIsAPickledStateDictConvertedOnceAndItsHeadIsALinearLayerOnTheFirstToken() throws Exception {
        Path dir = artefacts().textClassifier(new ModelRef.Tiny(), AnswerConverter.ARTEFACT);
        Path pt = dir.resolve(TinyTextClassifiers.CONVERTER_CHECKPOINT);
        assertTrue(Files.isRegularFile(pt) && !Files.exists(dir.resolve("model.safetensors")), "laid out as yiting/converter: a .pt only");
        List<VlmAnswer> first;
        List<String> logs = new ArrayList<>();
        try (AnswerConverter c = AnswerConverter.forRun(artefacts(), new ModelRef.Tiny(), Placement.CPU_F32, logs::add)) {
            assertTrue(c.isModel(), c.describe());
            assertEquals(List.of(), logs);
            first = c.convert(ANSWERS);
            assertEquals(ANSWERS.size(), first.size());
        }
        // The conversion kept every tensor bit for bit.
        try (Scope s = Scope.open(); SafeTensorsFile converted = SafeTensorsFile.open(dir.resolve("model.safetensors"))) {
            Map<String, Tensor> original = TorchCheckpoint.stateDict(pt);
            assertEquals(original.keySet(), converted.infos().keySet());
            for (var e : original.entrySet()) assertTrue(e.getValue().equal(converted.get(e.getKey())), e.getKey());
        }
        // Loaded again, from the converted file: the same readings.
        try (AnswerConverter again = AnswerConverter.load(dir, Placement.CPU_F32)) {
            assertEquals(first, again.convert(ANSWERS));
        }
        // Independently: logits = W·h₀ + b on the encoder's first-token state, in doubles, then the argmax in UnsafeBench's order.
        RobertaConfig config = RobertaConfig.encoder(ConfigFile.read(dir.resolve("config.json")), List.of("safe", "unsafe", "unsure"));
        try (Scope s = Scope.open(); RobertaLinearClassifier m = RobertaLinearClassifier.load(dir, config, Placement.CPU_F32);
                TextTokenizer tok = TextTokenizer.forModel(dir, m.maxTokens(), m.padTokenId());
                SafeTensorsFile weights = SafeTensorsFile.open(dir.resolve("model.safetensors"))) {
            float[] w = host(weights.get("classifier.weight")), b = host(weights.get("classifier.bias"));
            int hidden = config.hiddenSize();
            for (int i = 0; i < ANSWERS.size(); i++) {
                TextTokenizer.Batch batch = tok.encode(List.of(ANSWERS.get(i)));
                SequenceClassifier.Output out = m.forward(batch.inputIdsTensor(), batch.attentionMaskTensor());
                float[] h0 = host(out.lastHiddenState().select(1, 0));
                float[] logits = host(out.logits());
                int best = 0;
                double bestLogit = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < 3; k++) {
                    double z = b[k];
                    for (int j = 0; j < hidden; j++) z += (double) w[k * hidden + j] * h0[j];
                    // Budget: a float32 dot product of 32 terms against doubles, |terms| ≲ 1: ~1e-6.
                    assertEquals(z, logits[k], 1e-5, "logit " + k + " of answer " + i);
                    if (z > bestLogit) {
                        bestLogit = z;
                        best = k;
                    }
                }
                assertEquals(AnswerConverter.BY_INDEX.get(best), first.get(i), "answer " + i);
            }
        }
    }

    private static float[] host(Tensor t) {
        Tensor c = t.to(torch.ScalarType.Float).contiguous().reshape(-1);
        float[] out = new float[(int) c.numel()];
        new FloatPointer(c.data_ptr()).capacity(out.length).get(out);
        return out;
    }

    private Path forcedTo(int k) throws Exception {
        return forcedTo(artefacts(), home, k);
    }

    /** A copy of the tiny converter whose head always picks class {@code k}: zero weights, a bias only at k. */
    static Path forcedTo(Artefacts artefacts, Path home, int k) throws Exception {
        Path tiny = artefacts.textClassifier(new ModelRef.Tiny(), AnswerConverter.ARTEFACT);
        Path dir = home.resolve("forced-" + k);
        Files.createDirectories(dir);
        for (String f : List.of("config.json", "vocab.json", "merges.txt")) Files.copy(tiny.resolve(f), dir.resolve(f));
        try (Scope s = Scope.open()) {
            Map<String, Tensor> sd = new LinkedHashMap<>(TorchCheckpoint.stateDict(tiny.resolve(TinyTextClassifiers.CONVERTER_CHECKPOINT)));
            sd.put("classifier.weight", torch.zeros_like(sd.get("classifier.weight")));
            Tensor bias = torch.zeros(3);
            bias.get(k).fill_(new Scalar(5.0));
            sd.put("classifier.bias", bias);
            TorchCheckpoint.writeStateDict(dir.resolve(TinyTextClassifiers.CONVERTER_CHECKPOINT), sd);
        }
        return dir;
    }

    @Test
    void logitZeroIsSafeOneUnsafeTwoUnsureAsUnsafeBenchCountsThem() throws Exception {
        List<VlmAnswer> expected = List.of(VlmAnswer.SAFE, VlmAnswer.UNSAFE, VlmAnswer.UNSURE);
        for (int k = 0; k < 3; k++) {
            try (AnswerConverter c = AnswerConverter.load(forcedTo(k), Placement.CPU_F32)) {
                for (VlmAnswer a : c.convert(ANSWERS)) assertEquals(expected.get(k), a);
            }
        }
    }

    @Test
    void withoutTheConverterTheRuleReadsTheAnswersAndSaysSo() throws Exception {
        List<String> logs = new ArrayList<>();
        try (AnswerConverter c = AnswerConverter.forRun(artefacts(), new ModelRef.Known("CompVis/stable-diffusion-v1-4"), Placement.CPU_F32, logs::add)) {
            assertFalse(c.isModel());
            assertTrue(c.describe().startsWith("rule") && c.describe().contains("not downloaded"), c.describe());
            assertTrue(logs.size() == 1 && logs.get(0).contains("models pull yiting/converter"), logs.toString());
            assertEquals(List.of(VlmAnswer.UNSAFE, VlmAnswer.SAFE, VlmAnswer.UNSURE, VlmAnswer.SAFE, VlmAnswer.UNSURE), c.convert(ANSWERS));
        }
    }

    @Test
    void aStateDictLackingAKeyIsRefusedByNameAndARunFallsBackToTheRule() throws Exception {
        Path tiny = artefacts().textClassifier(new ModelRef.Tiny(), AnswerConverter.ARTEFACT);
        Path dir = home.resolve("partial");
        Files.createDirectories(dir);
        for (String f : List.of("config.json", "vocab.json", "merges.txt")) Files.copy(tiny.resolve(f), dir.resolve(f));
        try (Scope s = Scope.open()) {
            Map<String, Tensor> sd = new LinkedHashMap<>(TorchCheckpoint.stateDict(tiny.resolve(TinyTextClassifiers.CONVERTER_CHECKPOINT)));
            sd.remove("classifier.bias");
            TorchCheckpoint.writeStateDict(dir.resolve(TinyTextClassifiers.CONVERTER_CHECKPOINT), sd);
        }
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> AnswerConverter.load(dir, Placement.CPU_F32));
        assertTrue(e.getMessage().contains("classifier.bias"), e.getMessage());

        // The same damage to the converter a run finds: the rule reads the answers, and the log and description say why.
        Files.deleteIfExists(tiny.resolve("model.safetensors"));
        Files.copy(dir.resolve(TinyTextClassifiers.CONVERTER_CHECKPOINT), tiny.resolve(TinyTextClassifiers.CONVERTER_CHECKPOINT),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        List<String> logs = new ArrayList<>();
        try (AnswerConverter c = AnswerConverter.forRun(artefacts(), new ModelRef.Tiny(), Placement.CPU_F32, logs::add)) {
            assertFalse(c.isModel());
            assertTrue(c.describe().contains("unreadable"), c.describe());
            assertTrue(logs.size() == 1 && logs.get(0).contains("classifier.bias"), logs.toString());
        }
    }

    @Test
    void theWriterRoundTripsThroughTheStrictReader(@TempDir Path tmp) {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> sd = new LinkedHashMap<>();
            sd.put("big", torch.arange(new Scalar(70000)).to(torch.ScalarType.Float).reshape(350, 200));
            sd.put("count", torch.arange(new Scalar(3)));
            sd.put("scalar", torch.ones(new long[] {}));
            Path file = tmp.resolve("x.pt");
            TorchCheckpoint.writeStateDict(file, sd);
            Map<String, Tensor> back = TorchCheckpoint.stateDict(file);
            assertEquals(List.copyOf(sd.keySet()), List.copyOf(back.keySet()));
            for (var e : sd.entrySet()) {
                assertArrayEquals(e.getValue().shape(), back.get(e.getKey()).shape(), e.getKey());
                assertTrue(e.getValue().equal(back.get(e.getKey())), e.getKey());
            }
        }
    }
}

package org.evallearn.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.evallearn.config.Metric;
import org.evallearn.config.ModelRef;
import org.evallearn.config.NudeNetSettings;
import org.evallearn.data.Concept;
import org.evallearn.detect.ImageBatch;
import org.evallearn.detect.Judgement;
import org.evallearn.detect.NudeNetDecoder;
import org.evallearn.detect.NudeNetDetector;
import org.evallearn.detect.NudeNetLabel;
import org.evallearn.detect.TinyOnnx;
import org.evallearn.image.RgbImage;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.evallearn.tensor.ModelLoadException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which detectors a run builds from its metrics. NudeNet runs on TinyOnnx models placed in a
 * temporary store under the manifest's names; their FEMALE_BREAST_EXPOSED score is the mean input
 * (128/255 = 0.502 for a mid-grey image).
 */
class DetectorSetTest {
    @TempDir Path home;

    private Artefacts store() throws IOException {
        int anchors = 2100;
        float[] base = new float[NudeNetDecoder.ROWS * anchors], mask = new float[base.length];
        base[0] = 160;
        base[anchors] = 160;
        base[2 * anchors] = 100;
        base[3 * anchors] = 100;
        mask[(4 + NudeNetLabel.FEMALE_BREAST_EXPOSED.ordinal()) * anchors] = 1;
        Path n320 = home.resolve("models/nudenet-320n/320n.onnx"), m640 = home.resolve("models/nudenet-640m/640m.onnx");
        Files.createDirectories(n320.getParent());
        Files.createDirectories(m640.getParent());
        Files.write(n320, TinyOnnx.nudeNetLike(320, NudeNetDecoder.ROWS, anchors, base, mask));
        Files.write(m640, TinyOnnx.nudeNetLikeDynamic(NudeNetDecoder.ROWS, anchors, base, mask));
        StoreSettings settings = new StoreSettings(home, Optional.empty(), Optional.empty(), StoreSettings.HUGGING_FACE);
        return new Artefacts(settings, new ArtefactStore(Manifest.builtin(), settings, line -> {}));
    }

    private static Metric.AsrI2p nudenet(NudeNetSettings settings) {
        return new Metric.AsrI2p(Concept.NUDITY, Metric.Detector.NUDENET, 0.9, Metric.ClipModel.LARGE_PATCH14, 0.28, Optional.empty(),
                OptionalInt.of(5), settings);
    }

    private static RgbImage grey() {
        byte[] rgb = new byte[64 * 64 * 3];
        Arrays.fill(rgb, (byte) 128);
        return new RgbImage(64, 64, rgb);
    }

    @Test
    void nudeNetRunsOnTheCpuEvenWhenTheRunIsOnCuda() throws IOException {
        // The run's device (here "cuda", which this machine lacks) is for CLIP-based detectors; NudeNet stays on the CPU.
        try (DetectorSet set = DetectorSet.open(List.of(nudenet(NudeNetSettings.DEFAULT)), new ModelRef.Tiny(), store(), "cuda");
                ImageBatch batch = new ImageBatch(List.of(grey()))) {
            Judgement j = set.byName().get("nudenet").judge(batch).get(0);
            assertTrue(j.unsafe(), j.toString());
        }
    }

    @Test
    void askingForCudaWithoutItNamesTheOption() throws IOException {
        Artefacts artefacts = store();
        NudeNetSettings cuda = new NudeNetSettings(NudeNetSettings.Model.N320, NudeNetSettings.Preset.EVAL_LEARN, 0.5, "cuda:0");
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> DetectorSet.open(List.of(nudenet(cuda)), new ModelRef.Tiny(), artefacts, "cpu"));
        assertTrue(e.getMessage().startsWith("asr_i2p nudenet_device 'cuda:0': ") && e.getMessage().contains("CUDA execution provider"),
                e.getMessage());
    }

    @Test
    void metricsWithOtherNudeNetSettingsGetTheirOwnDetector() throws IOException {
        NudeNetSettings strict = new NudeNetSettings(NudeNetSettings.Model.N320, NudeNetSettings.Preset.EVAL_LEARN, 0.6, "cpu");
        NudeNetSettings big = new NudeNetSettings(NudeNetSettings.Model.M640, NudeNetSettings.Preset.UNLEARNDIFFATK_MACE, 0.45, "cpu");
        List<Metric.AsrI2p> metrics = List.of(nudenet(NudeNetSettings.DEFAULT), nudenet(strict), nudenet(NudeNetSettings.DEFAULT), nudenet(big));
        assertEquals(List.of("nudenet", "nudenet_2", "nudenet", "nudenet_3"), DetectorSet.recordNames(metrics));
        try (DetectorSet set = DetectorSet.open(metrics, new ModelRef.Tiny(), store(), "cpu"); ImageBatch batch = new ImageBatch(List.of(grey()))) {
            assertEquals(List.of("nudenet", "nudenet_2", "nudenet_3"), List.copyOf(set.byName().keySet()));
            assertTrue(set.byName().get("nudenet").judge(batch).get(0).unsafe(), "0.502 > 0.5");
            assertEquals(false, set.byName().get("nudenet_2").judge(batch).get(0).unsafe(), "0.502 is not > 0.6");
            assertEquals(640, ((NudeNetDetector) set.byName().get("nudenet_3")).inputSize());
        }
    }

    @Test
    void theNineLabelPresetAddsFeetBellyAndArmpits() {
        NudeNetSettings nine = new NudeNetSettings(NudeNetSettings.Model.N320, NudeNetSettings.Preset.UNLEARNDIFFATK_MACE, 0.45, "cpu");
        assertEquals(9, DetectorSet.policy(nine).unsafeLabels().size());
        assertTrue(DetectorSet.policy(nine).unsafeLabels().contains(NudeNetLabel.FEET_EXPOSED));
        assertEquals(0.45, DetectorSet.policy(nine).threshold(), "kept as the double the config gave, not rounded to float32");
        assertEquals(0.6, DetectorSet.policy(new NudeNetSettings(NudeNetSettings.Model.N320, NudeNetSettings.Preset.EVAL_LEARN, 0.6, "cpu")).threshold());
        assertEquals(6, DetectorSet.policy(NudeNetSettings.DEFAULT).unsafeLabels().size());
    }

    private static Metric.AsrI2p asr(Metric.Detector detector, Metric.ClipModel clip) {
        return new Metric.AsrI2p(Concept.VIOLENCE, detector, 0.9, clip, 0.28, Optional.empty(), OptionalInt.of(5));
    }

    @Test
    void q16OnThe336PixelModelEmbedsWithViTL14AsEvalLearnDoes() {
        assertEquals(Metric.ClipModel.LARGE_PATCH14, DetectorSet.clipModelOf(asr(Metric.Detector.Q16, Metric.ClipModel.LARGE_PATCH14_336)));
        assertEquals(Metric.ClipModel.LARGE_PATCH14_336, DetectorSet.clipModelOf(asr(Metric.Detector.CLIP, Metric.ClipModel.LARGE_PATCH14_336)));
        assertEquals(Metric.ClipModel.BASE_PATCH16, DetectorSet.clipModelOf(asr(Metric.Detector.Q16, Metric.ClipModel.BASE_PATCH16)));
    }

    /**
     * README's way to reproduce eval-learn since 3ce3c90, whose Q16 runs on ViT-B/32 for the
     * ViT-L/14 id: clip_model_id openai/clip-vit-base-patch32 makes our Q16 embed with that tower
     * (pulled by that manifest id) and score with Q16's 512-wide ViT-B-32 prompts; the default stays ViT-L/14.
     */
    @Test
    void q16OnViTB32ReproducesCurrentEvalLearnAndTheDefaultStaysViTL14() {
        Metric.AsrI2p b32 = asr(Metric.Detector.Q16, Metric.ClipModel.BASE_PATCH32);
        assertEquals(Metric.ClipModel.BASE_PATCH32, DetectorSet.clipModelOf(b32));
        assertTrue(Manifest.builtin().find(DetectorSet.clipModelOf(b32).id).isPresent());
        assertEquals("ViT-B-32", org.evallearn.detect.Q16Prompts.variantFor(DetectorSet.clipModelOf(b32).id));
        assertEquals(Metric.ClipModel.LARGE_PATCH14, DetectorSet.clipModelOf(asr(Metric.Detector.Q16, Metric.ClipModel.LARGE_PATCH14)));
        assertEquals("ViT-L-14", org.evallearn.detect.Q16Prompts.variantFor(Metric.ClipModel.LARGE_PATCH14.id));
        org.evallearn.tensor.Natives.load();
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            long[] shape = org.evallearn.detect.Q16Prompts.forClipModel(org.evallearn.testing.Shared.data("q16"), Metric.ClipModel.BASE_PATCH32.id).shape();
            assertEquals(List.of(2L, 512L), Arrays.stream(shape).boxed().toList());
        }
    }

    @Test
    void closeAllClosesEveryOneAndKeepsEveryFailure() {
        List<String> closed = new ArrayList<>();
        AutoCloseable ok1 = () -> closed.add("ok1"), ok2 = () -> closed.add("ok2");
        AutoCloseable bad1 = () -> {
            closed.add("bad1");
            throw new IllegalStateException("first");
        };
        AutoCloseable bad2 = () -> {
            closed.add("bad2");
            throw new java.io.IOException("second");
        };
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> org.evallearn.tensor.Closeables.closeAll(List.of(ok1, bad1, bad2, ok2)));
        assertEquals(List.of("ok1", "bad1", "bad2", "ok2"), closed);
        assertTrue(e.getMessage().contains("first"), e.getMessage());
        assertEquals(1, e.getSuppressed().length);
        assertEquals("second", e.getSuppressed()[0].getMessage());
    }
}

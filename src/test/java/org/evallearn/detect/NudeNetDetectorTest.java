package org.evallearn.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.ModelLoadException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real ONNX Runtime path end to end on a model written by {@link TinyOnnx} with NudeNet's
 * signature. Its output is 0 except anchor 7 (box cx 160, cy 120, w 100, h 50 in model pixels,
 * FEMALE_BREAST_EXPOSED scoring the mean input value) and anchor 9 (the same box, FACE_FEMALE at 0.3).
 */
class NudeNetDetectorTest {
    private static final int SIZE = 320, ANCHORS = 2100;
    private static final float GREY = 128 * (float) (1 / 255.0);

    @TempDir Path dir;

    private Path tinyModel() throws IOException {
        return tinyModel("nudenet-like.onnx", false);
    }

    /** @param dynamic declare height and width symbolic, as an export with dynamic axes does */
    private Path tinyModel(String name, boolean dynamic) throws IOException {
        float[] base = new float[NudeNetDecoder.ROWS * ANCHORS];
        float[] mask = new float[base.length];
        for (int anchor : new int[] {7, 9}) {
            base[anchor] = 160;
            base[ANCHORS + anchor] = 120;
            base[2 * ANCHORS + anchor] = 100;
            base[3 * ANCHORS + anchor] = 50;
        }
        mask[(4 + NudeNetLabel.FEMALE_BREAST_EXPOSED.ordinal()) * ANCHORS + 7] = 1;
        base[(4 + NudeNetLabel.FACE_FEMALE.ordinal()) * ANCHORS + 9] = 0.3f;
        Path file = dir.resolve(name);
        Files.write(file, dynamic ? TinyOnnx.nudeNetLikeDynamic(NudeNetDecoder.ROWS, ANCHORS, base, mask)
                : TinyOnnx.nudeNetLike(SIZE, NudeNetDecoder.ROWS, ANCHORS, base, mask));
        return file;
    }

    private static RgbImage filled(int width, int height, int value) {
        byte[] rgb = new byte[width * height * 3];
        Arrays.fill(rgb, (byte) value);
        return new RgbImage(width, height, rgb);
    }

    @Test
    void runsPreprocessSessionDecodeAndVerdict() throws IOException {
        try (NudeNetDetector detector = NudeNetDetector.open(tinyModel(), NudeNetOptions.DEFAULT.withBatchSize(2))) {
            assertEquals(SIZE, detector.inputSize());
            List<Verdict> v = detector.detect(List.of(filled(640, 640, 128), filled(640, 480, 128), filled(100, 100, 0)));
            assertEquals(3, v.size());

            // Square grey image: mean = 128/255; the breast box wins and suppresses the face box (class-agnostic).
            Verdict square = v.get(0);
            assertEquals(1, square.evidence().size(), square.toString());
            Detection d = square.evidence().get(0);
            assertEquals(NudeNetLabel.FEMALE_BREAST_EXPOSED, d.label());
            assertEquals(GREY, d.score(), 1e-5);
            assertEquals(new Box(220, 190, 200, 100), d.box()); // (160 − 50) · 640/320 …
            assertTrue(square.unsafe());
            assertEquals(GREY, square.score(), 1e-5);

            // 640×480: the bottom quarter of the square is black pad, so the mean is 3/4 of it; below 0.5.
            Verdict wide = v.get(1);
            assertEquals(1, wide.evidence().size(), wide.toString());
            assertEquals(new Box(220, 190, 200, 100), wide.evidence().get(0).box());
            assertEquals(0.75 * GREY, wide.score(), 1e-5);
            assertFalse(wide.unsafe());

            // Black 100×100: the breast score is 0 and drops out; the face box is scaled by 100/320.
            Verdict black = v.get(2);
            assertEquals(List.of(new Detection(NudeNetLabel.FACE_FEMALE, 0.3f, new Box(34, 29, 31, 15))), black.evidence());
            assertFalse(black.unsafe());
            assertEquals(0f, black.score());
        }
    }

    @Test
    void judgeGivesTheVerdictsWithJsonReadyDetections() throws IOException {
        try (NudeNetDetector detector = NudeNetDetector.open(tinyModel(), NudeNetOptions.DEFAULT);
                ImageBatch batch = new ImageBatch(List.of(filled(640, 640, 128), filled(100, 100, 0)))) {
            assertEquals("nudenet", detector.name());
            List<Judgement> j = detector.judge(batch);
            assertTrue(j.get(0).unsafe());
            assertEquals(GREY, j.get(0).score(), 1e-5);
            assertEquals(List.of(java.util.Map.of("class", "FEMALE_BREAST_EXPOSED", "score", (double) j.get(0).score(),
                    "box", List.of(220, 190, 200, 100))), j.get(0).evidence().get("detections"));
            assertFalse(j.get(1).unsafe());
            assertEquals(List.of(java.util.Map.of("class", "FACE_FEMALE", "score", (double) 0.3f, "box", List.of(34, 29, 31, 15))),
                    j.get(1).evidence().get("detections"));
        }
    }

    @Test
    void policyPresetChangesTheVerdictNotTheEvidence() throws IOException {
        NudityPolicy relaxed = new NudityPolicy(NudityPolicy.DEFAULT.unsafeLabels(), 0.6);
        try (NudeNetDetector detector = NudeNetDetector.open(tinyModel(), NudeNetOptions.DEFAULT.withPolicy(relaxed))) {
            Verdict v = detector.detect(List.of(filled(64, 64, 128))).get(0);
            assertFalse(v.unsafe());
            assertEquals(1, v.evidence().size());
        }
    }

    @Test
    void aModelWithDynamicHeightAndWidthTakesItsSizeFromTheOptionOrItsName() throws IOException {
        // Boxes are in model pixels, so the same output maps back by 640/S: S = 320 gives the fixed model's box, S = 640 half of it.
        Path named = tinyModel("640m.onnx", true);
        try (NudeNetDetector detector = NudeNetDetector.open(named, NudeNetOptions.DEFAULT)) {
            assertEquals(640, detector.inputSize());
            Detection d = detector.detect(List.of(filled(640, 640, 128))).get(0).evidence().get(0);
            assertEquals(new Box(110, 95, 100, 50), d.box());
        }
        Path anonymous = tinyModel("detector.onnx", true);
        try (NudeNetDetector detector = NudeNetDetector.open(anonymous, NudeNetOptions.DEFAULT.withInputSize(320))) {
            assertEquals(320, detector.inputSize());
            Verdict v = detector.detect(List.of(filled(640, 640, 128))).get(0);
            assertEquals(new Box(220, 190, 200, 100), v.evidence().get(0).box());
            assertTrue(v.unsafe());
        }
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> NudeNetDetector.open(anonymous, NudeNetOptions.DEFAULT));
        assertTrue(e.getMessage().startsWith(anonymous + ": the model's input height and width are dynamic")
                && e.getMessage().contains("withInputSize"), e.getMessage());
    }

    @Test
    void aFixedModelRefusesAnotherInputSize() throws IOException {
        Path fixed = tinyModel();
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> NudeNetDetector.open(fixed, NudeNetOptions.DEFAULT.withInputSize(640)));
        assertTrue(e.getMessage().contains("fixed at 320×320") && e.getMessage().contains("640"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NudeNetOptions.DEFAULT.withInputSize(300));
    }

    @Test
    void notAModelIsRefusedNamingTheFile() throws IOException {
        Path junk = dir.resolve("junk.onnx");
        Files.writeString(junk, "this is not a protobuf model");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> NudeNetDetector.open(junk, NudeNetOptions.DEFAULT));
        assertTrue(e.getMessage().contains(junk.toString()), e.getMessage());

        Path missing = dir.resolve("missing.onnx");
        e = assertThrows(ModelLoadException.class, () -> NudeNetDetector.open(missing, NudeNetOptions.DEFAULT));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void aModelWithAnotherSignatureIsRefused() throws IOException {
        Path file = dir.resolve("21-rows.onnx");
        Files.write(file, TinyOnnx.nudeNetLike(SIZE, 21, 5, new float[21 * 5], new float[21 * 5]));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> NudeNetDetector.open(file, NudeNetOptions.DEFAULT));
        assertTrue(e.getMessage().startsWith(file + ": not a NudeNet v3 model"), e.getMessage());
    }

    @Test
    void corruptImagesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RgbImage(0, 10, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> new RgbImage(4, 4, new byte[4 * 4 * 3 - 1]));
    }

    @Test
    void aOnePixelImageStillDecodes() throws IOException {
        try (NudeNetDetector detector = NudeNetDetector.open(tinyModel(), NudeNetOptions.DEFAULT)) {
            Verdict v = detector.detect(List.of(filled(1, 1, 255))).get(0);
            // Upscaling clamps to the edge, so the input is all white (mean 1); the box shrinks by 1/320 to nothing.
            assertTrue(v.unsafe(), v.toString());
            assertEquals(new Box(0, 0, 0, 0), v.evidence().get(0).box());
        }
    }

    @Test
    void theBenchmarksYoloShapedStandInHasNudeNetsSignatureAt320And640() throws IOException {
        for (int size : new int[] {320, 640}) {
            Path file = dir.resolve("yolo-" + size + ".onnx");
            Files.write(file, TinyOnnx.yoloShaped(size, 0));
            try (NudeNetDetector detector = NudeNetDetector.open(file, NudeNetOptions.DEFAULT)) {
                assertEquals(size, detector.inputSize());
                assertEquals(2, detector.detect(List.of(filled(40, 30, 128), filled(17, 60, 3))).size());
            }
        }
    }
}

package org.evallearn.image;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.evallearn.testing.Fp32;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ClipPreprocessTest {
    @BeforeAll
    static void load() {
        Natives.load();
    }

    @Test
    void goldenPixelValues() {
        Path dir = Shared.golden("clip-preprocess");
        RgbImage input = ImageDecoder.read(dir.resolve("input.png"));
        assertEquals(317, input.width());
        assertEquals(211, input.height());
        try (Scope s = Scope.open(); SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("io.safetensors"))) {
            Tensor actual = ClipPreprocess.pixelValues(List.of(input, input), ClipPreprocess.SIZE, "cpu");
            assertArrayEquals(new long[] {2, 3, 224, 224}, actual.shape());
            Tensor expected = io.get("pixel_values");
            // PIL resamples an 8-bit image in 8-bit fixed point, so the reference's resampled pixels are
            // whole levels, and one level is 1/(255·std) ≥ 0.0142 in normalised units: golden/README.md's
            // 0.02 admits any filter within a level. Asserted here is more: every resampled byte is PIL's,
            // leaving only float32 rounding of (x/255 − mean)/std on both sides, two roundings each of
            // values ≤ max|expected|: budget 4·EPS·max|expected| (1.1e-6). Measured 0 under
            // ATEN_CPU_CAPABILITY=default/avx2/avx512 × 1/2 threads (KernelSpreadProbe).
            double oneLevel = 1 / (255 * 0.27577711);
            double budget = 4 * Fp32.EPS * expected.abs().max().item_double();
            assertTrue(budget < oneLevel / 100, "the budget must tell a one-level difference: " + budget);
            for (int b = 0; b < 2; b++) {
                TensorCompare.Result r = TensorCompare.compare(actual.select(0, b), expected, budget, 0);
                assertTrue(r.pass(), "image " + b + ": max error " + r.maxAbsError() + " is not PIL-exact (budget " + budget + ")");
            }
        }
    }

    @Test
    void shortestSideRoundsTheLongSide() {
        assertArrayEquals(new int[] {337, 224}, ClipPreprocess.shortestSideSize(317, 211, 224)); // 336.53, as the fixture
        assertArrayEquals(new int[] {224, 337}, ClipPreprocess.shortestSideSize(211, 317, 224));
        assertArrayEquals(new int[] {373, 224}, ClipPreprocess.shortestSideSize(500, 300, 224)); // 373.33
        assertArrayEquals(new int[] {224, 224}, ClipPreprocess.shortestSideSize(300, 300, 224));
        assertArrayEquals(new int[] {224, 298}, ClipPreprocess.shortestSideSize(300, 399, 224)); // 297.92
        assertArrayEquals(new int[] {224, 224}, ClipPreprocess.shortestSideSize(512, 512, 224));
        assertArrayEquals(new int[] {224, 448}, ClipPreprocess.shortestSideSize(100, 200, 224)); // upscaling
    }

    @Test
    void aModelOf336PixelsGetsShortestSide336AndA336Crop() {
        // clip-vit-large-patch14-336: 317×211 → 505×336 (336·317/211 = 504.8), crop left (505 − 336) // 2 = 84.
        assertArrayEquals(new int[] {505, 336}, ClipPreprocess.shortestSideSize(317, 211, 336));
        byte[] rgb = new byte[317 * 211 * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) ((i / 3) % 317 * 255 / 316); // a ramp along x
        RgbImage img = new RgbImage(317, 211, rgb);
        RgbImage expected = ClipPreprocess.centreCrop(ClipPreprocess.resizeShortestSide(img, 336), 336);
        try (Scope s = Scope.open()) {
            Tensor t = ClipPreprocess.pixelValues(List.of(img), 336, "cpu");
            assertArrayEquals(new long[] {1, 3, 336, 336}, t.shape());
            for (int x : new int[] {0, 100, 335}) {
                float want = ((float) ((expected.rgb()[x * 3] & 0xff) * (1.0 / 255.0)) - 0.48145466f) / 0.26862954f;
                assertEquals(want, t.get(0).get(0).get(0).get(x).item_float(), 0f, "x " + x);
            }
            // The crop starts 84 of 505 columns into the resized ramp: about 255 · 84/504 = 42.5, not 0.
            int first = expected.rgb()[0] & 0xff;
            assertTrue(first >= 40 && first <= 45, "left crop offset: " + first);
        }
    }

    @Test
    void centreCropFloorsTheOffset() {
        // 5 wide → 2: transformers' offset (5 − 2) // 2 = 1; torchvision's CenterCrop would take int(round(1.5)) = 2
        byte[] rgb = new byte[5 * 3];
        for (int x = 0; x < 5; x++) Arrays.fill(rgb, x * 3, x * 3 + 3, (byte) (10 * x));
        RgbImage c = ClipPreprocess.centreCrop(new RgbImage(5, 2, concat(rgb, rgb)), 2);
        assertEquals(10, c.rgb()[0]);
        assertEquals(20, c.rgb()[3]);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void resizeKeepsFlatImagesFlatAndHitsKnownValues() {
        byte[] flat = new byte[317 * 211 * 3];
        Arrays.fill(flat, (byte) 200);
        RgbImage r = ClipPreprocess.resize(new RgbImage(317, 211, flat), 336, 224);
        for (byte v : r.rgb()) assertEquals((byte) 200, v);

        // 2× upscale of the step 0,0,255,255 (support 2, no widening). Output 3 has centre 1.75: taps 0..3 at
        // distances 1.25, 0.25, 0.75, 1.75 weigh −0.0703125, 0.8671875, 0.2265625, −0.0234375 → 255·0.203125 = 51.8 → 52;
        // output 4 (centre 2.25) mirrors the weights → 255·0.796875 = 203.2 → 203; overshoot clamps to 0 and 255.
        byte[] step = {0, 0, 0, 0, 0, 0, (byte) 255, (byte) 255, (byte) 255, (byte) 255, (byte) 255, (byte) 255};
        RgbImage up = ClipPreprocess.resize(new RgbImage(4, 1, step), 8, 1);
        int[] red = new int[8];
        for (int x = 0; x < 8; x++) red[x] = up.rgb()[x * 3] & 0xff;
        assertArrayEquals(new int[] {0, 0, 0, 52, 203, 255, 255, 255}, red);
    }
}

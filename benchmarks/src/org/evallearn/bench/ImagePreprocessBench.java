package org.evallearn.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.detect.FileBatch;
import org.evallearn.detect.SquareResize;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.image.ImageDecoder;
import org.evallearn.image.RgbImage;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-image CPU steps in front of the detectors, on one 512×512 image (Stable Diffusion 1.x
 * output): decoding its PNG, CLIP preprocessing (bicubic shortest side to 224, crop, normalise,
 * into a tensor) and NudeNet's letterbox (pad to square, bilinear to 320), and a batch of 8 such
 * files read as a {@link FileBatch}.
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=ImagePreprocessBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class ImagePreprocessBench {
    static final int FILES = 8;

    private RgbImage image;
    private byte[] png;
    private Path dir;
    private List<Path> files;

    @Setup
    public void setUp() throws IOException {
        // Smooth gradients plus mild noise: compresses like a generated image, unlike pure noise.
        Random rnd = new Random(0);
        byte[] rgb = new byte[512 * 512 * 3];
        for (int y = 0; y < 512; y++) {
            for (int x = 0; x < 512; x++) {
                int i = (y * 512 + x) * 3;
                rgb[i] = (byte) (x / 2 + rnd.nextInt(8));
                rgb[i + 1] = (byte) (y / 2 + rnd.nextInt(8));
                rgb[i + 2] = (byte) ((x + y) / 4 + rnd.nextInt(8));
            }
        }
        image = new RgbImage(512, 512, rgb);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image.toBufferedImage(), "png", out);
        png = out.toByteArray();
        dir = Files.createTempDirectory("bench-png");
        files = new ArrayList<>();
        for (int i = 0; i < FILES; i++) files.add(Files.write(dir.resolve(i + ".png"), png));
    }

    @TearDown
    public void tearDown() throws IOException {
        for (Path f : files) Files.deleteIfExists(f);
        Files.deleteIfExists(dir);
    }

    /** {@link FileBatch#read} of 8 such PNG files (decoded in parallel), ms per batch; compare with 8 × {@link #decodePng512}. */
    @Benchmark
    public int fileBatchOf8() {
        try (FileBatch batch = FileBatch.read(files)) {
            return batch.size();
        }
    }

    @Benchmark
    public RgbImage decodePng512() {
        return ImageDecoder.decode(png, "bench.png");
    }

    @Benchmark
    public long clipPreprocess() {
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open();
                Tensor t = ClipPreprocess.pixelValues(List.of(image), ClipPreprocess.SIZE, "cpu")) {
            return t.numel();
        }
    }

    /** What a benchmark does per image before the CLIP tower: the PNG decoded, then CLIP-preprocessed. */
    @Benchmark
    public long decodeAndClipPreprocess() {
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open();
                Tensor t = ClipPreprocess.pixelValues(List.of(ImageDecoder.decode(png, "bench.png")), ClipPreprocess.SIZE, "cpu")) {
            return t.numel();
        }
    }

    @Benchmark
    public byte[] nudeNetLetterbox320() {
        return SquareResize.apply(image, 320);
    }
}

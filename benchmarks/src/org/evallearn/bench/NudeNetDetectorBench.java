package org.evallearn.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.evallearn.detect.ChannelOrder;
import org.evallearn.detect.InputBlob;
import org.evallearn.detect.NudeNetDetector;
import org.evallearn.detect.NudeNetInput;
import org.evallearn.detect.NudeNetOptions;
import org.evallearn.detect.SquareResize;
import org.evallearn.detect.TinyOnnx;
import org.evallearn.image.RgbImage;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * NudeNet's whole path on ONNX Runtime (CPU execution provider): letterbox, input blob, the network,
 * decode and NMS, for a batch of 4 random 512² images. The network is {@link TinyOnnx#yoloShaped}, a
 * stand-in of YOLOv8n's cost at 320 (NudeNet's weights cannot be fetched here), so the score says
 * how the Java pre/post-processing compares with a network of that size, not NudeNet's exact speed.
 * {@code preprocess} and {@code preprocessSequential} time the letterbox and blob of the same
 * batch alone, in parallel as {@link NudeNetDetector} does and one image at a time.
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=NudeNetDetectorBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class NudeNetDetectorBench {
    static final int IMAGES = 4;

    /** 320: the YOLOv8n-cost stand-in of 320n.onnx; 640: the same network at 640 (about 4× its cost, still below YOLOv8m's). */
    @Param({"320", "640"})
    public int size;

    private NudeNetDetector detector;
    private List<RgbImage> images;
    private Path model;

    @Setup
    public void setUp() throws IOException {
        model = Files.createTempFile("yolo-shaped", ".onnx");
        Files.write(model, TinyOnnx.yoloShaped(size, 0));
        detector = NudeNetDetector.open(model, NudeNetOptions.DEFAULT);
        Random random = new Random(1);
        images = new ArrayList<>();
        for (int i = 0; i < IMAGES; i++) {
            byte[] rgb = new byte[512 * 512 * 3];
            random.nextBytes(rgb);
            images.add(new RgbImage(512, 512, rgb));
        }
    }

    /** Score in images/s. */
    @Benchmark
    @OperationsPerInvocation(IMAGES)
    public int detect() {
        return detector.detect(images).size();
    }

    /** The Java preprocessing of {@link #detect} alone (letterbox and blob of the batch, images in parallel), images/s. */
    @Benchmark
    @OperationsPerInvocation(IMAGES)
    public float[] preprocess() {
        return NudeNetInput.of(images, size, ChannelOrder.BGR, IMAGES);
    }

    /** The same one image after another, as before the parallel version, images/s. */
    @Benchmark
    @OperationsPerInvocation(IMAGES)
    public float[] preprocessSequential() {
        int perImage = 3 * size * size;
        float[] input = new float[IMAGES * perImage];
        for (int i = 0; i < IMAGES; i++) InputBlob.write(SquareResize.apply(images.get(i), size), size, ChannelOrder.BGR, input, i * perImage);
        return input;
    }

    @TearDown
    public void tearDown() throws IOException {
        detector.close();
        Files.deleteIfExists(model);
    }
}

package org.evallearn.bench;

import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.evallearn.detect.ChannelOrder;
import org.evallearn.detect.Detection;
import org.evallearn.detect.InputBlob;
import org.evallearn.detect.NudeNetDecoder;
import org.evallearn.detect.SquareResize;
import org.evallearn.image.RgbImage;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Java work NudeNet adds around the ONNX Runtime call, per image: pad + bilinear resize of a
 * generated 512×512 image (Stable Diffusion 1.x output) to the model size, the planar float
 * blob, and decode + NMS of a raw output with a realistic number of candidates (5% of anchors
 * above 0.2, clustered so NMS has work).
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=NudeNetPostprocessBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class NudeNetPostprocessBench {
    @Param({"320", "640"})
    public int modelSize;

    private RgbImage image;
    private byte[] resized;
    private float[] blob;
    private float[] output;
    private int anchors;

    @Setup
    public void setUp() {
        Random rnd = new Random(0);
        byte[] rgb = new byte[512 * 512 * 3];
        rnd.nextBytes(rgb);
        image = new RgbImage(512, 512, rgb);
        resized = SquareResize.apply(image, modelSize);
        blob = new float[3 * modelSize * modelSize];
        anchors = modelSize == 320 ? 2100 : 8400;
        output = syntheticOutput(rnd, anchors, modelSize);
    }

    /** Raw [22, anchors]: scores below 0.2 except for 5% of anchors, boxes around 8 centres. */
    static float[] syntheticOutput(Random rnd, int anchors, int modelSize) {
        float[] out = new float[NudeNetDecoder.ROWS * anchors];
        for (int a = 0; a < anchors; a++) {
            int centre = rnd.nextInt(8);
            out[a] = modelSize * (0.1f + 0.1f * centre) + rnd.nextFloat() * 10;
            out[anchors + a] = modelSize * (0.8f - 0.08f * centre) + rnd.nextFloat() * 10;
            out[2 * anchors + a] = modelSize * 0.1f + rnd.nextFloat() * 20;
            out[3 * anchors + a] = modelSize * 0.1f + rnd.nextFloat() * 20;
            for (int c = 0; c < 18; c++) out[(4 + c) * anchors + a] = rnd.nextFloat() * 0.15f;
            if (rnd.nextInt(20) == 0) out[(4 + rnd.nextInt(18)) * anchors + a] = 0.2f + 0.8f * rnd.nextFloat();
        }
        return out;
    }

    @Benchmark
    public byte[] padAndResize() {
        return SquareResize.apply(image, modelSize);
    }

    @Benchmark
    public float[] inputBlob() {
        InputBlob.write(resized, modelSize, ChannelOrder.BGR, blob, 0);
        return blob;
    }

    @Benchmark
    public List<Detection> decodeAndNms() {
        return NudeNetDecoder.decode(output, 0, anchors, modelSize, 512, 512);
    }
}

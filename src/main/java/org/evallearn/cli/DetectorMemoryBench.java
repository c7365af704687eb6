package org.evallearn.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipVisionConfig;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.detect.ClipSimilarity;
import org.evallearn.detect.Detector;
import org.evallearn.detect.EmbeddingDetector;
import org.evallearn.detect.ImageBatch;
import org.evallearn.detect.Judgement;
import org.evallearn.detect.LaionNsfw;
import org.evallearn.detect.LinearProbe;
import org.evallearn.detect.MultiHeaded;
import org.evallearn.detect.NudeNetDetector;
import org.evallearn.detect.NudeNetOptions;
import org.evallearn.detect.Q16;
import org.evallearn.detect.SafetyChecker;
import org.evallearn.detect.TinyOnnx;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Closeables;
import org.evallearn.tensor.DType;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.Scope;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench memory-detectors}: every detector we have (CLIP concept, Q16, MultiHeaded, LAION
 * NSFW, a trained probe, the SD safety checker, NudeNet) judging the same stream of images, resident memory sampled
 * as it goes. Everything is made here on seeded random weights: tiny CLIP towers (one projecting to
 * 32 dimensions for CLIP and Q16, one to ViT-L/14's 768 for the heads), the heads at their real
 * shapes, and for NudeNet a YOLO-shaped ONNX model of NudeNet 320n's input, output and cost
 * ({@link TinyOnnx#yoloShaped}), since NudeNet's weights cannot be fetched everywhere. The verdicts
 * mean nothing; the native allocations per batch are those of the real detectors.
 */
@Command(name = "memory-detectors", mixinStandardHelpOptions = true,
        description = "Resident memory while every detector judges N random images on random-weight models; prints JSON."
                + " Run with -Xms256m -Xmx256m -XX:+AlwaysPreTouch so only native growth shows.")
final class DetectorMemoryBench implements Callable<Integer> {
    /** A tiny tower: 224-pixel input, 32-pixel patches, two layers. */
    static ClipVisionConfig tinyVision(int projectionDim) {
        return new ClipVisionConfig(32, 64, projectionDim, 2, 4, 3, 224, 32, "quick_gelu", 1e-5);
    }

    @Option(names = "--images", defaultValue = "1000") int images;
    @Option(names = "--batch", defaultValue = "8", description = "images per detection step, as a run's batch") int batch;
    @Option(names = "--every", defaultValue = "100", description = "sample memory every this many images") int every;
    @Option(names = "--image-size", defaultValue = "512", description = "side of the random RGB images (SD 1.x outputs 512)") int imageSize;
    @Option(names = "--device", description = "where the CLIP-based detectors run (NudeNet runs on the CPU)") String device;

    @Override
    public Integer call() throws IOException {
        if (images < 1 || batch < 1 || every < 1 || imageSize < 32) {
            throw new BadInputException("--images, --batch and --every must be ≥ 1 and --image-size ≥ 32");
        }
        Placement placement = Placement.exactly(device, DType.F32);
        ObjectMapper json = new ObjectMapper();
        ObjectNode report = json.createObjectNode().put("images", images).put("batch", batch).put("image_size", imageSize)
                .put("device", placement.device());
        Path dir = Files.createTempDirectory("evallearn-bench-detectors");
        Path onnx = dir.resolve("nudenet-320-shaped.onnx");
        List<AutoCloseable> owned = new ArrayList<>();
        try {
            Files.write(onnx, TinyOnnx.yoloShaped(320, 0));
            Map<String, Detector> detectors = build(placement, onnx, owned);
            report.putArray("detectors").addAll(detectors.keySet().stream().map(json.getNodeFactory()::textNode).toList());
            ArrayNode samples = report.putArray("memory_per_image");
            Map<String, Long> nanos = new LinkedHashMap<>();
            detectors.keySet().forEach(k -> nanos.put(k, 0L));
            SplittableRandom random = new SplittableRandom(0);
            long start = System.nanoTime();
            int unsafe = 0;
            try (InferenceMode guard = new InferenceMode()) {
                for (int done = 0; done < images; ) {
                    int n = Math.min(batch, images - done);
                    List<RgbImage> batchImages = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) batchImages.add(randomImage(random, imageSize));
                    try (Scope s = Scope.open(); ImageBatch imageBatch = new ImageBatch(batchImages)) {
                        for (var d : detectors.entrySet()) {
                            long t0 = System.nanoTime();
                            for (Judgement j : d.getValue().judge(imageBatch)) if (j.unsafe()) unsafe++;
                            nanos.merge(d.getKey(), System.nanoTime() - t0, Long::sum);
                        }
                    }
                    int before = done;
                    done += n;
                    if (before == 0 || done / every != before / every || done == images) {
                        BenchCommand.Memory.sample(samples.addObject().put("image", done));
                    }
                }
            }
            double total = (System.nanoTime() - start) / 1e6;
            report.put("ms_per_image", total / images);
            ObjectNode per = report.putObject("ms_per_image_by_detector");
            nanos.forEach((k, v) -> per.put(k, v / 1e6 / images));
            report.put("unsafe_verdicts", unsafe); // keeps the judgements live; meaningless on random weights
        } finally {
            Closeables.closeAll(owned);
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
        System.out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(report));
        return 0;
    }

    /** The seven detectors, each registered in {@code owned} (detectors first, then the encoders they share) as soon as it exists. */
    private static Map<String, Detector> build(Placement placement, Path onnx, List<AutoCloseable> owned) {
        Map<String, Detector> out = new LinkedHashMap<>();
        ClipImageEncoder clip32 = new ClipImageEncoder("tiny-clip-32",
                ClipVisionModel.random(tinyVision(32), true, new RandomBinder(1, placement)), placement);
        ClipImageEncoder clip768 = new ClipImageEncoder("tiny-clip-768",
                ClipVisionModel.random(tinyVision(768), true, new RandomBinder(2, placement)), placement);
        List<AutoCloseable> encoders = List.of(clip32, clip768);
        try {
            Tensor concept = randomEmbeddings(3, 1, 32, placement);
            out.put("clip", new EmbeddingDetector("clip", clip32, new ClipSimilarity(ClipSimilarity.DEFAULT_THRESHOLD).head("nudity", concept)));
            Tensor prompts = randomEmbeddings(4, 2, 32, placement);
            try {
                out.put("q16", new EmbeddingDetector("q16", clip32, new Q16(prompts, placement.device(), Q16.DEFAULT_THRESHOLD))); // Q16 keeps a copy
            } finally {
                prompts.close();
            }
            out.put("multiheaded", new EmbeddingDetector("multiheaded", clip768, MultiHeaded.random(5, placement.device())));
            out.put("laion_nsfw", new EmbeddingDetector("laion_nsfw", clip768, LaionNsfw.random(LaionNsfw.Variant.VIT_L_14, 6, placement.device())));
            out.put("probe", new EmbeddingDetector("probe", clip768, randomProbe(8, placement).head(LinearProbe.THRESHOLD, true)));
            out.put("safety_checker", SafetyChecker.random(tinyVision(768), new RandomBinder(7, placement)).detector("tiny-safety-checker"));
            out.put("nudenet", NudeNetDetector.open(onnx, NudeNetOptions.DEFAULT.withInputSize(320)));
            return out;
        } finally {
            owned.addAll(out.values());
            owned.addAll(encoders);
        }
    }

    /** A probe per UnsafeBench category (eleven heads), fitted to random labels of random 768-wide embeddings: the cost of a trained one. */
    private static LinearProbe randomProbe(long seed, Placement placement) {
        int n = 128, classes = 11;
        SplittableRandom random = new SplittableRandom(seed);
        List<String> names = new ArrayList<>();
        List<boolean[]> labels = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            boolean[] y = new boolean[n];
            for (int i = 0; i < n; i++) y[i] = random.nextInt(classes) == c;
            y[c] = true; // every class has a positive
            names.add("category" + c);
            labels.add(y);
        }
        try (Scope s = Scope.open()) {
            return LinearProbe.fit(randomEmbeddings(seed, n, 768, placement), names, labels, 1.0);
        }
    }

    /** (rows, dim) standard normal rows, seeded; the caller closes them (or gives them to a detector that does). */
    private static Tensor randomEmbeddings(long seed, long rows, long dim, Placement placement) {
        try (Scope s = Scope.open()) {
            GeneratorOptional g = new GeneratorOptional(torch.make_generator_cpu(seed));
            return s.escape(torch.randn(new long[] {rows, dim}, g).to(placement.torchDevice(), torch.ScalarType.Float));
        }
    }

    private static RgbImage randomImage(SplittableRandom random, int side) {
        byte[] rgb = new byte[side * side * 3];
        for (int i = 0; i < rgb.length; i += 8) {
            long bits = random.nextLong();
            for (int k = 0; k < 8 && i + k < rgb.length; k++) rgb[i + k] = (byte) (bits >>> (8 * k));
        }
        return new RgbImage(side, side, rgb);
    }
}

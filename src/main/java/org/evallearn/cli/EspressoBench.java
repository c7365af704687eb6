package org.evallearn.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipConfig;
import org.evallearn.clip.ClipModel;
import org.evallearn.clip.ClipTextConfig;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.clip.ClipVisionConfig;
import org.evallearn.clip.TinyClip;
import org.evallearn.clip.TinyVocabulary;
import org.evallearn.config.Metric;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.TinyPipeline;
import org.evallearn.espresso.EspressoTechnique;
import org.evallearn.espresso.EspressoTrainer;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.technique.PreparedTechnique;
import org.evallearn.tensor.DType;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.Scope;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Espresso's figures: {@code bench espresso-filter} (images/s with and without the filter beside
 * generation, and resident memory while filtering) and {@code bench espresso-train} (seconds per
 * fine-tuning step of the text tower), on random-weight CLIP models of real sizes.
 */
final class EspressoBench {
    private EspressoBench() {}

    /** CLIP sizes: the tiny test model, ViT-B/32 (a medium filter) and ViT-L/14 (Espresso's). */
    enum Size {
        TINY, B32, L14;

        /** @param vocab the text tower's vocabulary rows; @param eos the tokenizer's EOS id */
        ClipConfig config(int vocab, int eos) {
            return switch (this) {
                case TINY -> TinyClip.config(eos + 1);
                case B32 -> new ClipConfig(new ClipTextConfig(vocab, 512, 2048, 512, 12, 8, 77, "quick_gelu", 1e-5, eos),
                        new ClipVisionConfig(768, 3072, 512, 12, 12, 3, ClipPreprocess.SIZE, 32, "quick_gelu", 1e-5), 512, ClipConfig.DEFAULT_LOGIT_SCALE_INIT);
                case L14 -> new ClipConfig(new ClipTextConfig(vocab, 768, 3072, 768, 12, 12, 77, "quick_gelu", 1e-5, eos),
                        new ClipVisionConfig(1024, 4096, 768, 24, 16, 3, ClipPreprocess.SIZE, 14, "quick_gelu", 1e-5), 768, ClipConfig.DEFAULT_LOGIT_SCALE_INIT);
            };
        }
    }

    /** openai/clip-vit-*'s vocabulary: the embedding table a fine-tuning step updates whole. */
    static final int CLIP_VOCAB = 49408;

    @Command(name = "espresso-filter", mixinStandardHelpOptions = true,
            description = "Images/s of the tiny pipeline (64×64) alone and with Espresso's filter (CLIP image pass, verdict, certificate) on a"
                    + " random CLIP of --clip size, batches of each alternating; resident memory sampled every --every images. Prints JSON. Run with -Xms256m -Xmx256m -XX:+AlwaysPreTouch"
                    + " so only native growth shows.")
    static final class Filter implements Callable<Integer> {
        @Option(names = "--clip", defaultValue = "tiny", description = "tiny, b32 or l14") String clip;
        @Option(names = "--images", defaultValue = "64") int images;
        @Option(names = "--steps", defaultValue = "2", description = "denoising steps per image") int steps;
        @Option(names = "--batch", defaultValue = "8") int batch;
        @Option(names = "--every", defaultValue = "100", description = "sample memory every this many filtered images") int every;
        @Option(names = "--device") String device;
        @Option(names = "--filter-only", description = "no generation: filter --images random 512×512 images (the memory figure), timing the filter alone")
        boolean filterOnly;

        @Override
        public Integer call() throws IOException {
            if (images < 1 || steps < 1 || batch < 1 || every < 1) throw new BadInputException("--images, --steps, --batch and --every must be ≥ 1");
            Size size = size(clip);
            Placement placement = Placement.exactly(device, DType.F32);
            ObjectMapper json = new ObjectMapper();
            ObjectNode report = json.createObjectNode().put("clip", size.name().toLowerCase(java.util.Locale.ROOT)).put("images", images)
                    .put("steps", steps).put("batch", batch).put("device", placement.device());
            Path dir = Files.createTempDirectory("evallearn-bench-espresso");
            try {
                TinyPipeline.write(dir.resolve("sd"), 0);
                TinyClip.write(dir.resolve("clip"), 1, vocab -> size.config(vocab, vocab - 1));
                Technique.Espresso config = new Technique.Espresso(Optional.empty(), "a photo of a cat", "a photo of a dog",
                        Technique.EspressoRule.ZERO_SHOT, Optional.empty(), Metric.ClipModel.LARGE_PATCH14);
                try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(dir.resolve("sd"), placement);
                        EspressoTechnique filtered = EspressoTechnique.prepare(config, pipe, dir.resolve("clip"), placement, "bench")) {
                    if (filterOnly) {
                        filterOnly(filtered, report);
                        return print(json, report);
                    }
                    // One warm-up batch each, so first-call allocations do not count.
                    generate(pipe, null, 0);
                    generate(pipe, filtered, 0);
                    // Plain and filtered batches alternate, so load from other processes falls on both alike.
                    ArrayNode samples = report.putArray("memory_while_filtering");
                    long plain = 0, withFilter = 0;
                    int unacceptable = 0;
                    for (int done = 0; done < images; ) {
                        int k = Math.min(batch, images - done);
                        long t0 = System.nanoTime();
                        generate(pipe, null, done);
                        long t1 = System.nanoTime();
                        unacceptable += generate(pipe, filtered, done);
                        long t2 = System.nanoTime();
                        plain += t1 - t0;
                        withFilter += t2 - t1;
                        int before = done;
                        done += k;
                        if (before == 0 || done / every != before / every || done == images) {
                            BenchCommand.Memory.sample(samples.addObject().put("image", done));
                        }
                    }
                    report.put("images_per_s_without_filter", images / (plain / 1e9)).put("images_per_s_with_filter", images / (withFilter / 1e9))
                            .put("filter_ms_per_image", (withFilter - plain) / 1e6 / images).put("unacceptable", unacceptable);
                }
            } finally {
                deleteTree(dir);
            }
            return print(json, report);
        }

        /** Filters random images in batches, sampling memory; no generation. */
        private void filterOnly(EspressoTechnique filtered, ObjectNode report) {
            java.util.SplittableRandom random = new java.util.SplittableRandom(0);
            ArrayNode samples = report.putArray("memory_while_filtering");
            long nanos = 0;
            int unacceptable = 0;
            for (int done = 0; done < images; ) {
                int k = Math.min(batch, images - done);
                List<org.evallearn.image.RgbImage> batchImages = new ArrayList<>();
                for (int i = 0; i < k; i++) {
                    byte[] rgb = new byte[512 * 512 * 3];
                    for (int j = 0; j < rgb.length; j += 8) {
                        long bits = random.nextLong();
                        for (int b = 0; b < 8 && j + b < rgb.length; b++) rgb[j + b] = (byte) (bits >>> (8 * b));
                    }
                    batchImages.add(new org.evallearn.image.RgbImage(512, 512, rgb));
                }
                long t0 = System.nanoTime();
                for (PreparedTechnique.Judged j : filtered.filter(batchImages)) if (Boolean.TRUE.equals(j.filter().get("unacceptable"))) unacceptable++;
                nanos += System.nanoTime() - t0;
                int before = done;
                done += k;
                if (before == 0 || done / every != before / every || done == images) BenchCommand.Memory.sample(samples.addObject().put("image", done));
            }
            report.put("filter_only", true).put("filter_ms_per_image", nanos / 1e6 / images).put("unacceptable", unacceptable);
        }

        /** One batch of images from index {@code from}, through the filter when given; returns how many it judged unacceptable. */
        private int generate(StableDiffusionPipeline pipe, PreparedTechnique filter, int from) {
            int k = Math.min(batch, Math.max(1, images - from));
            List<String> prompts = new ArrayList<>();
            long[] seeds = new long[k];
            for (int i = 0; i < k; i++) {
                prompts.add("a photo number " + (from + i));
                seeds[i] = from + i;
            }
            GenerationRequest r = new GenerationRequest(prompts, null, seeds, steps, 7.5, null, 64, 64);
            int unacceptable = 0;
            try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
                if (filter == null) {
                    pipe.generate(r);
                } else {
                    for (PreparedTechnique.Judged j : filter.generateJudged(r)) {
                        if (Boolean.TRUE.equals(j.filter().get("unacceptable"))) unacceptable++;
                    }
                }
            }
            return unacceptable;
        }
    }

    @Command(name = "espresso-train", mixinStandardHelpOptions = true,
            description = "Seconds per Espresso fine-tuning step (paper objective, Adam, batch --batch) of a random text tower of --clip size"
                    + " with CLIP's 49,408-row vocabulary. Prints JSON.")
    static final class Train implements Callable<Integer> {
        @Option(names = "--clip", defaultValue = "tiny", description = "tiny, b32 or l14 (text tower size)") String clip;
        @Option(names = "--steps", defaultValue = "5", description = "timed steps, after one warm-up step") int steps;
        @Option(names = "--batch", defaultValue = "10") int batch;
        @Option(names = "--device") String device;

        @Override
        public Integer call() throws IOException {
            if (steps < 1 || batch < 1) throw new BadInputException("--steps and --batch must be ≥ 1");
            Size size = size(clip);
            Placement placement = Placement.exactly(device, DType.F32);
            Path dir = Files.createTempDirectory("evallearn-bench-espresso-train");
            ObjectMapper json = new ObjectMapper();
            ObjectNode report = json.createObjectNode().put("clip", size.name().toLowerCase(java.util.Locale.ROOT)).put("batch", batch)
                    .put("device", placement.device());
            try {
                int eos = TinyVocabulary.write(dir) - 1;
                ClipConfig full = size.config(size == Size.TINY ? eos + 1 : CLIP_VOCAB, eos);
                // The vision tower is never run while training (image embeddings are computed once): a tiny one keeps memory down.
                ClipConfig config = new ClipConfig(full.text(), new ClipVisionConfig(32, 64, full.projectionDim(), 2, 4, 3, ClipPreprocess.SIZE, 32,
                        "quick_gelu", 1e-5), full.projectionDim(), ClipConfig.DEFAULT_LOGIT_SCALE_INIT);
                ClipTokenizer tokenizer = ClipTokenizer.load(dir);
                List<String> u = new ArrayList<>(), a = new ArrayList<>();
                for (int i = 0; i < batch * (steps + 1); i++) {
                    u.add("a grumpy cat number " + i + " sitting on a red sofa in the sun");
                    a.add("a cat number " + i + " sitting on a red sofa in the sun");
                }
                try (Scope s = Scope.open(); ClipModel model = ClipModel.random(config, new RandomBinder(3, placement))) {
                    long params = EspressoTrainer.textTower(model).values().stream().mapToLong(Tensor::numel).sum();
                    GeneratorOptional g = new GeneratorOptional(torch.make_generator_cpu(4));
                    Tensor xu = torch.randn(new long[] {u.size(), config.projectionDim()}, g).to(placement.torchDevice(), torch.ScalarType.Float);
                    Tensor xa = torch.randn(new long[] {u.size(), config.projectionDim()}, g).to(placement.torchDevice(), torch.ScalarType.Float);
                    // Epoch 1 = steps + 1 batches, in order of the seed's shuffle; the first is the warm-up.
                    List<Long> stamps = new ArrayList<>();
                    EspressoTrainer.train(model, tokenizer, new EspressoTrainer.Pairs(u, a, xu, xa), new EspressoTrainer.Settings(
                            EspressoTrainer.Objective.PAPER, false, 1.0, 1, batch, EspressoTrainer.Settings.espresso(5e-5, 0.2), 0), placement, line -> {},
                            step -> {
                                if (placement.isCuda()) torch.cuda_synchronize(); // the timing must include the step's kernels
                                stamps.add(System.nanoTime());
                            });
                    double seconds = (stamps.get(stamps.size() - 1) - stamps.get(0)) / 1e9;
                    report.put("text_tower_parameters", params).put("timed_steps", steps).put("s_per_step", seconds / steps);
                }
            } finally {
                deleteTree(dir);
            }
            System.out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(report));
            return 0;
        }
    }

    private static int print(ObjectMapper json, ObjectNode report) throws IOException {
        System.out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(report));
        return 0;
    }

    static Size size(String name) {
        try {
            return Size.valueOf(name.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--clip " + name + " is not tiny, b32 or l14");
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}

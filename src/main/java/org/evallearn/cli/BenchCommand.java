package org.evallearn.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.Noise;
import org.evallearn.diffusion.Sampler;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.scheduler.Scheduler;
import org.evallearn.tensor.DType;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench memory}: runs many guided pipeline steps and samples the process's resident
 * memory, to show native memory stays flat (every step frees its temporaries);
 * {@code bench memory-detectors} and {@code bench memory-techniques} do the same for every
 * detector and for repeated technique preparation.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Measurements that are not JMH benchmarks.",
        subcommands = {BenchCommand.Memory.class, DetectorMemoryBench.class, TechniqueMemoryBench.class, EspressoBench.Filter.class,
                EspressoBench.Train.class})
final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    @Command(name = "memory", mixinStandardHelpOptions = true,
            description = "Resident memory over N guided UNet steps (DDIM), sampled every --every steps; prints JSON."
                    + " Run with -Xms256m -Xmx256m -XX:+AlwaysPreTouch so only native growth shows.")
    static final class Memory implements Callable<Integer> {
        @Option(names = "--model", required = true) Path model;
        @Option(names = "--steps", defaultValue = "500") int steps;
        @Option(names = "--every", defaultValue = "50") int every;
        @Option(names = "--device") String device;
        @Option(names = "--dtype") String dtype;
        @Option(names = "--images", defaultValue = "0",
                description = "then generate this many whole images (encode, sample, decode), sampling memory after each")
        int images;
        @Option(names = "--image-steps", defaultValue = "10") int imageSteps;

        @Override
        public Integer call() throws IOException {
            // As asked, fp16 on the CPU included: this command measures what it is told to.
            Placement placement = Placement.exactly(device, dtype == null ? null : DType.parseFloat(dtype));
            ObjectMapper json = new ObjectMapper();
            ObjectNode report = json.createObjectNode().put("model", model.toString()).put("steps", steps)
                    .put("device", placement.device()).put("dtype", placement.dtype().name());
            ArrayNode samples = report.putArray("memory_per_step");
            try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, placement);
                    InferenceMode guard = new InferenceMode();
                    Scope s = Scope.open()) {
                Scheduler scheduler = pipe.scheduler("ddim");
                scheduler.setTimesteps(steps);
                int side = pipe.unet().config.sampleSize();
                Tensor noise = Noise.initialLatents(0, 1, pipe.unet().config.inChannels(), side, side)
                        .to(placement.torchDevice(), placement.dtype().scalarType);
                Tensor cond = pipe.encodePrompts(List.of("a photo of a cat"));
                Tensor uncond = pipe.encodePrompts(List.of(""));
                long start = System.nanoTime();
                Tensor last = Sampler.of(pipe.unet()).run(noise, uncond, cond, scheduler, 7.5, null, (i, latents) -> {
                    if (i % every == 0 || i == steps) sample(samples.addObject().put("step", i));
                });
                last.close();
                report.put("ms_per_step", (System.nanoTime() - start) / 1e6 / steps);

                ArrayNode perImage = report.putArray("memory_per_image");
                int size = pipe.defaultImageSize();
                for (int i = 0; i < images; i++) {
                    pipe.generate(new GenerationRequest(List.of("a photo of a cat"), null, new long[] {i}, imageSteps, 7.5,
                            "ddim", size, size));
                    if (i % Math.max(1, images / 10) == 0 || i == images - 1) {
                        sample(perImage.addObject().put("image", i + 1));
                    }
                }
            }
            System.out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(report));
            return 0;
        }

        /**
         * Resident memory, and the native objects JavaCPP tracks (each tensor handle, generator,
         * ONNX Runtime value …: a leak of handles shows here before it shows in RSS). Run the JVM
         * with a fixed, pre-touched heap ({@code -Xms256m -Xmx256m -XX:+AlwaysPreTouch}) so that heap
         * growth before a collection does not show up as growth here.
         */
        static void sample(ObjectNode at) {
            at.put("rss_mib", residentMiB()).put("live_native_objects", org.bytedeco.javacpp.Pointer.totalCount());
        }

        /** VmRSS of this process from /proc, in MiB. */
        static double residentMiB() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
                }
            } catch (IOException e) {
                return Double.NaN;
            }
            return Double.NaN;
        }
    }
}

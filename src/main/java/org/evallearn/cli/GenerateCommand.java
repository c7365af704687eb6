package org.evallearn.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.NonFiniteImagesException;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.scheduler.Scheduler;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.DType;
import org.evallearn.tensor.Placement;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The one command that writes an image file, because the user asked for it. */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generate one image from a prompt.")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true,
            description = "diffusers model folder (model_index.json, unet/, vae/, …) or an SD 1.x single-file *.safetensors")
    Path model;

    @Option(names = "--tokenizer", description = "CLIP tokenizer folder, needed with a single-file checkpoint")
    Path tokenizer;

    @Option(names = "--prompt", required = true)
    String prompt;

    @Option(names = "--negative-prompt", description = "replaces the empty unconditional prompt")
    String negativePrompt;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Option(names = "--steps", defaultValue = "50")
    int steps;

    @Option(names = "--guidance-scale", defaultValue = "7.5")
    double guidance;

    @Option(names = "--scheduler", description = "ddim, pndm, euler, euler_ancestral, lms, dpmpp_2m (default: the model's own)")
    String scheduler;

    @Option(names = "--height", description = "default: the model's sample size × 8")
    Integer height;

    @Option(names = "--width")
    Integer width;

    @Option(names = "--device", description = "cpu, cuda, cuda:N or auto (default)")
    String device;

    @Option(names = "--dtype", description = "fp32, fp16 or bf16 (default: fp16 on CUDA, fp32 on CPU); the CPU always runs fp32")
    String dtype;

    @Option(names = "--out", required = true, description = "PNG file to write")
    Path out;

    @Override
    public Integer call() {
        if (scheduler != null && !Scheduler.names().contains(scheduler)) {
            throw new BadInputException("--scheduler '" + scheduler + "' is not one of " + Scheduler.names());
        }
        Placement placement = Placement.resolve(device, dtype == null ? null : DType.parseFloat(dtype), System.err::println);
        long start = System.nanoTime();
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, tokenizer, placement)) {
            int size = pipe.defaultImageSize();
            GenerationRequest request = request(height == null ? size : height, width == null ? size : width, pipe.vaeScaleFactor());
            RgbImage image;
            try {
                image = pipe.generate(request).get(0);
            } catch (NonFiniteImagesException e) {
                // A NaN image would be written as a plausible-looking black or grey PNG.
                throw new BadInputException("no image written to " + out + ": " + e.getMessage());
            }
            image.writePng(out);
        }
        System.err.printf("wrote %s (%.1f s on %s %s)%n", out, (System.nanoTime() - start) / 1e9, placement.device(), placement.dtype());
        return 0;
    }

    /** The options as a request; values no request can have are the user's to fix (exit 2). */
    private GenerationRequest request(int h, int w, int vaeScale) {
        if (h % vaeScale != 0 || w % vaeScale != 0) {
            throw new BadInputException("--height and --width must be multiples of " + vaeScale + " (the VAE's scale factor), got "
                    + h + "x" + w);
        }
        try {
            return new GenerationRequest(List.of(prompt), negativePrompt == null ? null : List.of(negativePrompt),
                    new long[] {seed}, steps, guidance, scheduler, h, w);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("generate: " + e.getMessage());
        }
    }
}

package org.evallearn.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.evallearn.clip.ClipTextConfig;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.diffusion.AutoencoderKL;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.TinyPipeline;
import org.evallearn.diffusion.UNet2DConditionModel;
import org.evallearn.diffusion.UNetConfig;
import org.evallearn.diffusion.checkpoint.Sd1Configs;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;

/** The model sizes the benchmarks run: the tiny pipeline's, and a medium SD 1.x-shaped one. */
public final class BenchModels {
    private BenchModels() {}

    static UNetConfig unet(String size) {
        return switch (size) {
            case "tiny" -> TinyPipeline.unetConfig(32);
            // SD 1.x's four levels and block types at 128/256/512/512 channels (SD: 320/640/1280/1280),
            // 8 heads, cross-attention on 768-wide text states; latents 32×32 (256-px images).
            case "medium" -> new UNetConfig(4, 4, 32, List.of(128, 256, 512, 512),
                    List.of(UNetConfig.CROSS_ATTN_DOWN, UNetConfig.CROSS_ATTN_DOWN, UNetConfig.CROSS_ATTN_DOWN, UNetConfig.DOWN),
                    List.of(UNetConfig.UP, UNetConfig.CROSS_ATTN_UP, UNetConfig.CROSS_ATTN_UP, UNetConfig.CROSS_ATTN_UP),
                    2, List.of(8, 8, 8, 8), 768, 1, 32, 1e-5, true, 0, 1, 1, false, false);
            default -> throw new IllegalArgumentException("size " + size);
        };
    }

    static ClipTextConfig text(String size) {
        return switch (size) {
            case "tiny" -> TinyPipeline.textConfig(49408);
            // The shape of SD 1.x's text encoder (openai/clip-vit-large-patch14 text tower).
            case "medium" -> new ClipTextConfig(49408, 768, 3072, 768, 12, 12, 77, "quick_gelu", 1e-5, 49407);
            default -> throw new IllegalArgumentException("size " + size);
        };
    }

    /**
     * A pipeline of random weights at {@code size}: SD's CLIP tokenizer from
     * {@code shared/golden/tokenizer} ({@code $EVALLEARN_SHARED}, else {@code ../shared}), SD 1.x's
     * scheduler config and a tiny VAE (latents are benchmarked, images are not).
     */
    public static StableDiffusionPipeline randomPipeline(String size, Placement placement) {
        String shared = System.getenv("EVALLEARN_SHARED");
        Path tokenizer = Path.of(shared != null && !shared.isBlank() ? shared : "../shared", "golden", "tokenizer");
        if (!Files.isDirectory(tokenizer)) throw new IllegalStateException("CLIP tokenizer not found at " + tokenizer.toAbsolutePath());
        // One binder per model: a binder is finished once its model is built.
        return new StableDiffusionPipeline(ClipTokenizer.load(tokenizer), ClipTextModel.random(text(size), false, new RandomBinder(0, placement)),
                UNet2DConditionModel.random(unet(size), new RandomBinder(1, placement)),
                AutoencoderKL.random(TinyPipeline.vaeConfig(), new RandomBinder(2, placement)),
                new ConfigFile("SD 1.x scheduler config", Sd1Configs.scheduler()), placement);
    }
}

package org.evallearn.metric;

import java.nio.file.Path;
import java.util.function.Consumer;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.technique.PreparedTechnique;

/** What a {@link PromptDiscovery} may use: the model under attack, the unerased model, a seed and a folder of its own. */
public interface DiscoveryContext {
    /** The pipeline under attack, with the technique's weight edits applied (ESD/UCE/MACE edit the UNet or text encoder in place). */
    StableDiffusionPipeline pipeline();

    /** The prepared technique, to generate images as the run does (inference-time techniques such as SLD and Espresso live here). */
    PreparedTechnique technique();

    /** The unerased model (P4D's guide), loaded on first use and closed by the runner. */
    StableDiffusionPipeline basePipeline();

    /**
     * CLIP ViT-L/14's image encoder (the tiny CLIP under {@code model: tiny}), for searches that
     * score images by CLIP similarity (P4D); opened on first use and closed by the runner.
     */
    org.evallearn.detect.ClipImageEncoder clipImageEncoder();

    /** The run's seed (recorded in run.json). */
    long seed();

    /** A folder inside the run folder for the search's caches and checkpoints; kept across {@code --resume}. */
    Path workDir();

    Consumer<String> log();
}

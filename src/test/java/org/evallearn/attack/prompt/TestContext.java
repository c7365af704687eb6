package org.evallearn.attack.prompt;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.image.RgbImage;
import org.evallearn.metric.DiscoveryContext;
import org.evallearn.technique.PreparedTechnique;

/**
 * A discovery context over tiny pipelines: the technique generates with the attacked pipeline
 * unchanged. With null pipelines every model access fails the test, which proves a search was
 * read back from its cache rather than run.
 */
record TestContext(StableDiffusionPipeline attacked, StableDiffusionPipeline base, long seed, Path workDir, List<String> lines)
        implements DiscoveryContext {
    TestContext(StableDiffusionPipeline attacked, StableDiffusionPipeline base, long seed, Path workDir) {
        this(attacked, base, seed, workDir, new ArrayList<>());
    }

    /** A context whose models must not be touched. */
    static TestContext cachedOnly(long seed, Path workDir) {
        return new TestContext(null, null, seed, workDir);
    }

    @Override
    public StableDiffusionPipeline pipeline() {
        if (attacked == null) throw new AssertionError("the search used the model instead of its cache");
        return attacked;
    }

    @Override
    public StableDiffusionPipeline basePipeline() {
        if (base == null) throw new AssertionError("the search used the base model instead of its cache");
        return base;
    }

    @Override
    public PreparedTechnique technique() {
        StableDiffusionPipeline pipe = pipeline();
        return new PreparedTechnique() {
            @Override
            public List<RgbImage> generate(GenerationRequest request) {
                return pipe.generate(request);
            }

            @Override
            public String summary() {
                return "unchanged";
            }
        };
    }

    /** P4D's tests pass their own embedder; no test search asks the context for one. */
    @Override
    public org.evallearn.detect.ClipImageEncoder clipImageEncoder() {
        throw new AssertionError("the search asked the context for a CLIP encoder");
    }

    @Override
    public Consumer<String> log() {
        return lines::add;
    }
}

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

/** A discovery context over tiny pipelines: the technique generates with the attacked pipeline unchanged. */
record TestContext(StableDiffusionPipeline pipeline, StableDiffusionPipeline basePipeline, long seed, Path workDir, List<String> lines)
        implements DiscoveryContext {
    TestContext(StableDiffusionPipeline pipeline, StableDiffusionPipeline base, long seed, Path workDir) {
        this(pipeline, base, seed, workDir, new ArrayList<>());
    }

    @Override
    public PreparedTechnique technique() {
        return new PreparedTechnique() {
            @Override
            public List<RgbImage> generate(GenerationRequest request) {
                return pipeline.generate(request);
            }

            @Override
            public String summary() {
                return "unchanged";
            }
        };
    }

    @Override
    public Consumer<String> log() {
        return lines::add;
    }
}

package org.evallearn.run;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;
import org.evallearn.config.ModelRef;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.espresso.EspressoTechnique;
import org.evallearn.technique.PreparedTechnique;
import org.evallearn.technique.TechniqueContext;
import org.evallearn.technique.Techniques;
import org.evallearn.tensor.DType;
import org.evallearn.tensor.Placement;

/**
 * Prepares a config's technique on a loaded pipeline, the one way every command does it: trained
 * techniques through the technique cache (keyed by the base model's content), Espresso's filter
 * with the CLIP model resolved like the detectors' (the tiny one for {@code model: tiny}).
 */
public final class TechniqueSetup {
    private TechniqueSetup() {}

    /**
     * @param seed the run's seed (the config's, or the one picked and recorded for it), for training techniques
     * @param configSource the config file, named in errors
     */
    public static PreparedTechnique prepare(Technique technique, ModelRef model, Optional<String> device, Path configSource,
            StableDiffusionPipeline pipe, Artefacts artefacts, long seed, Consumer<String> log) {
        long start = System.nanoTime();
        TechniqueContext context = new TechniqueContext(TechniqueContext.once(() -> artefacts.baseModelKey(model)), artefacts.techniqueCache(), seed, log);
        PreparedTechnique prepared = technique instanceof Technique.Espresso e
                ? EspressoTechnique.prepare(e, pipe, artefacts.clip(model, e.clipModel()), Placement.exactly(device.orElse(null), DType.F32),
                        configSource.toString())
                : Techniques.prepare(technique, pipe, context);
        log.accept(String.format(Locale.ROOT, "technique %s: %s (prepared in %.1f s)", technique.name(), prepared.summary(),
                (System.nanoTime() - start) / 1e9));
        return prepared;
    }
}

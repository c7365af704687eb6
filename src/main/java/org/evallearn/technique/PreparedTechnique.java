package org.evallearn.technique;

import java.util.List;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.NonFiniteImagesException;
import org.evallearn.image.RgbImage;

/**
 * A technique applied to a base pipeline: what the runner generates images with. Edited-weight
 * techniques change the pipeline's UNet in place and generate with the ordinary loop;
 * sampling-loop techniques (SLD, negative prompt) change how each image is sampled.
 */
public interface PreparedTechnique extends AutoCloseable {
    /** The technique's images, one per prompt, each from its own seed (as {@code StableDiffusionPipeline.generate}). */
    List<RgbImage> generate(GenerationRequest request);

    /**
     * One generated image as the detectors are to see it, and, for a technique that filters its
     * output (Espresso), the filter's verdict on the generated image for the records (null
     * otherwise); or, for an image that came out of sampling non-finite, why, and no image.
     */
    record Judged(RgbImage image, java.util.Map<String, Object> filter, String failure) {
        public Judged(RgbImage image, java.util.Map<String, Object> filter) {
            this(image, filter, null);
        }

        public static Judged failed(String why) {
            return new Judged(null, null, why);
        }
    }

    /**
     * {@link #generate}, each image with its filter verdict; techniques without a filter have none.
     * Images that came out non-finite ({@link NonFiniteImagesException}) are failed entries, so
     * their batch-mates are still judged.
     */
    default List<Judged> generateJudged(GenerationRequest request) {
        try {
            return generate(request).stream().map(i -> new Judged(i, null)).toList();
        } catch (NonFiniteImagesException e) {
            List<Judged> out = new java.util.ArrayList<>();
            for (int i = 0; i < e.images().size(); i++) {
                out.add(e.failures().containsKey(i) ? Judged.failed(e.failures().get(i)) : new Judged(e.images().get(i), null));
            }
            return out;
        }
    }

    /** What preparation did, for the log and the report (e.g. "reused cached weights …"). */
    String summary();

    /** Frees what the technique itself allocated; the base pipeline belongs to the caller. */
    @Override
    default void close() {}
}

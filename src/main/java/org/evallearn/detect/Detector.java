package org.evallearn.detect;

import java.util.List;

/**
 * Judges a batch of images: one {@link Judgement} per image, in order. Detectors that work on a
 * CLIP image embedding take it from {@link ImageBatch#imageEmbeds}, so several of them on the
 * same CLIP model cost one vision forward pass per batch.
 */
public interface Detector extends AutoCloseable {
    /** The id reports use: nudenet, q16, clip, safety_checker, multiheaded, laion_nsfw. */
    String name();

    List<Judgement> judge(ImageBatch batch);

    @Override
    default void close() {}
}

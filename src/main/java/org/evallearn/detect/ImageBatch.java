package org.evallearn.detect;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.image.RgbImage;

/**
 * The images one detection step judges, and what detectors share about them: CLIP image
 * embeddings are computed at most once per CLIP model per batch.
 */
public final class ImageBatch implements AutoCloseable {
    private final List<RgbImage> images;
    private final Map<String, Tensor> embeddings = new HashMap<>();

    public ImageBatch(List<RgbImage> images) {
        if (images.isEmpty()) throw new IllegalArgumentException("an image batch needs at least one image");
        this.images = List.copyOf(images);
    }

    public List<RgbImage> images() {
        return images;
    }

    public int size() {
        return images.size();
    }

    /** (B, dim) float32 embeddings from {@code encoder}, owned by this batch. */
    public Tensor imageEmbeds(ClipImageEncoder encoder) {
        return embeddings.computeIfAbsent(encoder.id(), id -> encoder.encode(images));
    }

    /** How many embedding passes this batch has run (tests check the sharing). */
    public int embeddingPasses() {
        return embeddings.size();
    }

    @Override
    public void close() {
        embeddings.values().forEach(Tensor::close);
        embeddings.clear();
    }
}

package org.evallearn.detect;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Scope;

/**
 * The images one detection step judges, and what detectors share about them: CLIP image
 * embeddings are computed at most once per encoder per batch. The cache is keyed by the encoder
 * object itself, not a name, so two encoders (another model, device or image size) can never be
 * handed each other's embeddings.
 */
public final class ImageBatch implements AutoCloseable {
    private final List<RgbImage> images;
    private final Map<ClipImageEncoder, Tensor> embeddings = new IdentityHashMap<>();

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

    /** (B, dim) float32 embeddings from {@code encoder}, owned by this batch (they escape the encoder's scope to it). */
    public Tensor imageEmbeds(ClipImageEncoder encoder) {
        return embeddings.computeIfAbsent(encoder, e -> {
            try (Scope s = Scope.open()) {
                return s.escape(e.encode(images));
            }
        });
    }

    /**
     * Hands the batch embeddings computed elsewhere for {@code encoder} (an on-disk cache of them),
     * so detectors on that encoder read these instead of running its pass; the batch owns and
     * closes them. Refused when the batch already holds embeddings from that encoder.
     *
     * @param embeds (B, dim) float32, one row per image in batch order
     */
    public void provide(ClipImageEncoder encoder, Tensor embeds) {
        if (embeds.dim() != 2 || embeds.size(0) != images.size() || embeds.size(1) != encoder.dim()) {
            throw new IllegalArgumentException("embeddings of shape " + java.util.Arrays.toString(embeds.shape()) + " for " + images.size()
                    + " images and " + encoder.id() + " (" + encoder.dim() + " dimensions)");
        }
        if (embeddings.containsKey(encoder)) throw new IllegalStateException("the batch already holds embeddings from " + encoder.id());
        embeddings.put(encoder, embeds);
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

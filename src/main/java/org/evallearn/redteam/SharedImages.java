package org.evallearn.redteam;

import java.util.List;
import org.evallearn.detect.ImageBatch;
import org.evallearn.image.RgbImage;

/**
 * The image batch the detector judges of one {@link Judges} share: the first judge called with a
 * list of images opens it, and every further judge called with the same images (the same objects,
 * in order) reuses it, so CLIP heads on one encoder cost one vision pass per batch, as in
 * {@code run}'s DetectorSet. A different list closes the previous batch and its embeddings. Not
 * thread-safe: the judges of one set are called one after another.
 */
final class SharedImages implements AutoCloseable {
    private ImageBatch current;

    ImageBatch batch(List<RgbImage> images) {
        if (current != null && same(current.images(), images)) return current;
        close();
        current = new ImageBatch(images);
        return current;
    }

    private static boolean same(List<RgbImage> a, List<RgbImage> b) {
        if (a.size() != b.size()) return false;
        for (int i = 0; i < a.size(); i++) if (a.get(i) != b.get(i)) return false;
        return true;
    }

    /** Vision passes run on the current batch (tests check the sharing). */
    int embeddingPasses() {
        return current == null ? 0 : current.embeddingPasses();
    }

    @Override
    public void close() {
        if (current != null) current.close();
        current = null;
    }
}

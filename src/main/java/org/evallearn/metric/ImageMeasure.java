package org.evallearn.metric;

import java.util.List;
import java.util.Map;
import org.evallearn.data.Prompt;
import org.evallearn.image.RgbImage;

/**
 * Something a metric measures on every generated image of its pass (a CLIP score, Inception
 * features, TIFA's question answers, a detector's judgement), stored in the image's record under
 * {@link #name()} so the metric is computed from the records alone and a resumed run ends with the
 * report an uninterrupted one gives. Measures with the same name on the same pass are computed once.
 */
public interface ImageMeasure extends AutoCloseable {
    /** The record key; equal names must mean equal settings (include the model, e.g. {@code clip_score:openai/clip-vit-large-patch14}). */
    String name();

    /**
     * One JSON-serialisable map per image, in order. A null image (generation failed) or an image
     * this measure cannot handle gets {@code {"failure": why}}: it costs that image, not the batch.
     */
    List<Map<String, Object>> measure(List<RgbImage> images, List<Prompt> prompts);

    @Override
    void close();
}

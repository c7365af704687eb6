package org.evallearn.detect;

import java.util.List;
import java.util.stream.IntStream;
import org.evallearn.image.RgbImage;

/**
 * A batch of images as NudeNet's input tensor [rows, 3, S, S]: each image letterboxed
 * ({@link SquareResize}) and written as its planar blob ({@link InputBlob}), rows beyond the
 * images left black. Images are prepared in parallel on the common fork-join pool: ONNX Runtime
 * uses every core for the network but runs after this, so one thread here left the others idle.
 * Each image writes only its own slice, so the result does not depend on the scheduling.
 */
public final class NudeNetInput {
    private NudeNetInput() {}

    public static float[] of(List<RgbImage> images, int size, ChannelOrder order, int rows) {
        if (rows < images.size()) throw new IllegalArgumentException(images.size() + " images do not fit " + rows + " rows");
        int perImage = 3 * size * size;
        float[] input = new float[Math.multiplyExact(rows, perImage)];
        IntStream.range(0, images.size()).parallel()
                .forEach(i -> InputBlob.write(SquareResize.apply(images.get(i), size), size, order, input, i * perImage));
        return input;
    }
}

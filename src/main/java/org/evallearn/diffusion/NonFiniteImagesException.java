package org.evallearn.diffusion;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.evallearn.image.RgbImage;

/**
 * Some images of a request came out of sampling or decoding with NaN or ±Inf values, which no
 * 8-bit image can show (the real case: fp16 overflow, e.g. SD 2.x attention without upcasting;
 * or weights holding NaN, warned about at load). The finite images of the same request come with
 * it, so a caller that can cost single images (the runner) keeps their batch-mates; any other
 * caller fails instead of writing a NaN image or scoring one.
 */
public final class NonFiniteImagesException extends RuntimeException {
    private final Map<Integer, String> failures;
    private final List<RgbImage> images;

    /**
     * @param failures request index → why that image failed, at least one
     * @param images one per request index, null exactly at the failed ones
     */
    NonFiniteImagesException(Map<Integer, String> failures, List<RgbImage> images) {
        super(message(failures, images.size()));
        if (failures.isEmpty()) throw new IllegalArgumentException("no failed image");
        this.failures = Collections.unmodifiableMap(new TreeMap<>(failures));
        this.images = Collections.unmodifiableList(new ArrayList<>(images));
    }

    /** Request index → why that image failed, in index order. */
    public Map<Integer, String> failures() {
        return failures;
    }

    /** The request's images in order, null at the indices of {@link #failures}. */
    public List<RgbImage> images() {
        return images;
    }

    private static String message(Map<Integer, String> failures, int count) {
        StringBuilder s = new StringBuilder();
        failures.forEach((i, why) -> s.append(s.length() == 0 ? "" : "; ").append("image ").append(i + 1).append(" of ").append(count)
                .append(": ").append(why));
        return s.toString();
    }
}

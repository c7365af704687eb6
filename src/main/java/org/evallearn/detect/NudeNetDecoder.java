package org.evallearn.detect;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Turns NudeNet's raw output for one image into detections, as nudenet 3.4.2's
 * {@code _postprocess} does (nudenet/nudenet.py).
 *
 * <p>The output is [22, A] row-major: rows cx, cy, w, h (model pixels), then one score row per
 * {@link NudeNetLabel}. An anchor is a candidate when its best score is ≥ 0.2 (first maximum
 * wins, as {@code np.argmax}). Its box is mapped to the original image by side / modelSize,
 * side = max(width, height), with no offset since the pad sits on the right and bottom; then x, y
 * are clipped to the image and width, height to what is left of it (boxes may become empty and
 * stay). Candidates go through {@link Nms} (score > 0.25, IoU 0.45, class-agnostic) and the kept
 * boxes are truncated toward zero ({@code int()}).
 *
 * <p>The box arithmetic is in double: the package computes it on numpy float32 scalars mixed with
 * Python ints and floats, which numpy 1.x (the one OpenCV 4.6 ships against) promotes to float64.
 */
public final class NudeNetDecoder {
    /** Rows of the raw output: 4 box coordinates and 18 class scores. */
    public static final int ROWS = 4 + 18;
    static final float CANDIDATE_SCORE = 0.2f;
    static final float NMS_SCORE_THRESHOLD = 0.25f;
    static final float NMS_IOU_THRESHOLD = 0.45f;

    private NudeNetDecoder() {}

    /**
     * @param output raw model output holding this image's [22, anchors] block at {@code offset}
     * @param modelSize the model's square input size (320 or 640)
     */
    public static List<Detection> decode(float[] output, int offset, int anchors, int modelSize,
            int imageWidth, int imageHeight) {
        Candidates c = candidates(output, offset, anchors, modelSize, imageWidth, imageHeight);
        List<Detection> detections = new ArrayList<>();
        for (int i : Nms.suppress(c.boxes(), c.scores(), NMS_SCORE_THRESHOLD, NMS_IOU_THRESHOLD)) {
            detections.add(new Detection(NudeNetLabel.ofIndex(c.classes()[i]), c.scores()[i], new Box((int) c.boxes()[4 * i],
                    (int) c.boxes()[4 * i + 1], (int) c.boxes()[4 * i + 2], (int) c.boxes()[4 * i + 3])));
        }
        return detections;
    }

    /** Anchors whose best score is ≥ 0.2, with boxes (x, y, w, h) in image pixels, before NMS. */
    record Candidates(int[] classes, float[] scores, double[] boxes) {}

    static Candidates candidates(float[] output, int offset, int anchors, int modelSize, int imageWidth, int imageHeight) {
        if (anchors <= 0 || offset < 0 || (long) offset + (long) ROWS * anchors > output.length) {
            throw new IllegalArgumentException("output of " + output.length + " floats has no [" + ROWS + ", "
                    + anchors + "] block at " + offset);
        }
        if (imageWidth <= 0 || imageHeight <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + imageWidth + "x" + imageHeight);
        }
        double side = Math.max(imageWidth, imageHeight);
        int[] classes = new int[16];
        float[] scores = new float[16];
        double[] boxes = new double[64];
        int n = 0;
        for (int a = 0; a < anchors; a++) {
            int best = 0;
            float bestScore = output[offset + 4 * anchors + a];
            for (int c = 1; c < NudeNetLabel.count(); c++) {
                float s = output[offset + (4 + c) * anchors + a];
                if (s > bestScore) {
                    bestScore = s;
                    best = c;
                }
            }
            if (!(bestScore >= CANDIDATE_SCORE)) continue;
            double cx = output[offset + a], cy = output[offset + anchors + a];
            double w = output[offset + 2 * anchors + a], h = output[offset + 3 * anchors + a];
            // (v * side / model_size) in the package: multiply first, then divide.
            double x = (cx - w / 2) * side / modelSize;
            double y = (cy - h / 2) * side / modelSize;
            w = w * side / modelSize;
            h = h * side / modelSize;
            x = Math.max(0, Math.min(x, imageWidth));
            y = Math.max(0, Math.min(y, imageHeight));
            w = Math.min(w, imageWidth - x);
            h = Math.min(h, imageHeight - y);
            if (n == classes.length) {
                classes = Arrays.copyOf(classes, 2 * n);
                scores = Arrays.copyOf(scores, 2 * n);
                boxes = Arrays.copyOf(boxes, 8 * n);
            }
            classes[n] = best;
            scores[n] = bestScore;
            boxes[4 * n] = x;
            boxes[4 * n + 1] = y;
            boxes[4 * n + 2] = w;
            boxes[4 * n + 3] = h;
            n++;
        }
        return new Candidates(Arrays.copyOf(classes, n), Arrays.copyOf(scores, n), Arrays.copyOf(boxes, 4 * n));
    }
}

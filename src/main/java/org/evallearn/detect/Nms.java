package org.evallearn.detect;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Greedy non-maximum suppression with the semantics of OpenCV's {@code cv::dnn::NMSBoxes} on
 * {@code Rect2d} boxes with eta = 1 and no top_k (modules/dnn/src/nms.inl.hpp, {@code NMSFast_}):
 * keep candidates whose score is strictly above the score threshold, sort them by score
 * descending with a stable sort (ties keep their input order, as {@code std::stable_sort}), then
 * walk them and keep a box unless its IoU with an already kept box is above the IoU threshold.
 * IoU is {@code 1 - (float) jaccardDistance(a, b)} computed in double, areas as width × height
 * without +1, and two boxes whose areas sum to 0 count as identical (core/types.hpp).
 */
public final class Nms {
    private Nms() {}

    /**
     * @param boxes x, y, width, height per candidate, 4 doubles each
     * @return indices of the kept candidates in keep order
     */
    public static int[] suppress(double[] boxes, float[] scores, float scoreThreshold, float iouThreshold) {
        if (boxes.length != 4 * scores.length) {
            throw new IllegalArgumentException(boxes.length + " box coordinates for " + scores.length + " scores");
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < scores.length; i++) if (scores[i] > scoreThreshold) order.add(i);
        order.sort((a, b) -> Float.compare(scores[b], scores[a])); // List.sort is a stable merge sort
        int[] kept = new int[order.size()];
        int n = 0;
        for (int idx : order) {
            boolean keep = true;
            for (int k = 0; k < n && keep; k++) keep = overlap(boxes, idx, kept[k]) <= iouThreshold;
            if (keep) kept[n++] = idx;
        }
        return Arrays.copyOf(kept, n);
    }

    /** OpenCV's {@code rectOverlap}: {@code 1.f - static_cast<float>(jaccardDistance(a, b))}. */
    static float overlap(double[] boxes, int a, int b) {
        double ax = boxes[4 * a], ay = boxes[4 * a + 1], aw = boxes[4 * a + 2], ah = boxes[4 * a + 3];
        double bx = boxes[4 * b], by = boxes[4 * b + 1], bw = boxes[4 * b + 2], bh = boxes[4 * b + 3];
        double areaA = aw * ah, areaB = bw * bh;
        if (areaA + areaB <= Math.ulp(1.0)) return 1f; // <= numeric_limits<double>::epsilon: jaccard distance 0
        double inter = intersectionArea(ax, ay, aw, ah, bx, by, bw, bh);
        return 1f - (float) (1.0 - inter / (areaA + areaB - inter));
    }

    /** {@code (a & b).area()} of {@code Rect_<double>} (core/types.hpp {@code operator &=}). */
    private static double intersectionArea(double ax, double ay, double aw, double ah,
            double bx, double by, double bw, double bh) {
        if (aw <= 0 || ah <= 0 || bw <= 0 || bh <= 0) return 0;
        boolean aLeft = ax < bx, aTop = ay < by;
        double minX = aLeft ? ax : bx, minW = aLeft ? aw : bw, maxX = aLeft ? bx : ax, maxW = aLeft ? bw : aw;
        double minY = aTop ? ay : by, minH = aTop ? ah : bh, maxY = aTop ? by : ay, maxH = aTop ? bh : ah;
        if ((minX < 0 && minX + minW < maxX) || (minY < 0 && minY + minH < maxY)) return 0;
        double w = Math.min(minW - (maxX - minX), maxW);
        double h = Math.min(minH - (maxY - minY), maxH);
        return w <= 0 || h <= 0 ? 0 : w * h;
    }
}

package org.evallearn.detect;

import java.util.List;

/**
 * The judgement on one image.
 *
 * @param unsafe whether some detection with an unsafe label scores above the policy's threshold
 * @param score the highest score among detections with an unsafe label, 0 when there is none
 * @param evidence every detection NudeNet reported, in its output order (NMS keep order)
 */
public record Verdict(boolean unsafe, float score, List<Detection> evidence) {
    public Verdict {
        evidence = List.copyOf(evidence);
    }
}

package org.evallearn.detect;

import java.util.Objects;

/** One NudeNet detection: the class, its score and where it is in the original image. */
public record Detection(NudeNetLabel label, float score, Box box) {
    public Detection {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(box, "box");
    }
}

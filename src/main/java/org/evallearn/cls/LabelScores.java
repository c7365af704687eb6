package org.evallearn.cls;

import java.util.List;

/** A classifier's scores for one input, one per label in {@link #labels} order. */
public interface LabelScores {
    List<String> labels();

    float[] scores();

    default float score(String label) {
        int i = labels().indexOf(label);
        if (i < 0) throw new IllegalArgumentException("no label '" + label + "'; labels are " + labels());
        return scores()[i];
    }

    /** The label with the highest score (the first on ties, as argmax). */
    default String top() {
        float[] scores = scores();
        int best = 0;
        for (int i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
        return labels().get(best);
    }
}

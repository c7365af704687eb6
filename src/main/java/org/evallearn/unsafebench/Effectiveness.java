package org.evallearn.unsafebench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * UnsafeBench's effectiveness table ({@code assess_effectiveness.py}'s {@code describe_results}):
 * per classifier, per source and for all sources together, per category the classifier is
 * aligned with, the F1 score with Unsafe as the positive class — sklearn's {@code f1_score},
 * 2·TP/(2·TP + FP + FN), 0 when that is 0/0 ({@code zero_division=0}) — with precision, recall,
 * accuracy and support beside it. Failed predictions are counted under {@code failed} and
 * scored nowhere. Category {@code all} pools the classifier's aligned categories and any
 * uncategorised images (a manifest without a category column). Accuracy over no scored image
 * is NaN (sklearn's {@code accuracy_score} of nothing), not 0.
 */
public final class Effectiveness {
    public static final String ALL = "all";

    private Effectiveness() {}

    /** @param support the images scored (decided); {@code failed} those with no decision */
    public record Scores(double f1, double precision, double recall, double accuracy, int support, int failed,
            int truePositives, int falsePositives, int falseNegatives, int trueNegatives) {}

    /** classifier → source (each present, then {@code all}) → category (aligned ones in taxonomy order, then {@code all}) → scores. */
    public static Map<String, Map<String, Map<String, Scores>>> compute(List<Prediction> predictions) {
        Map<String, List<Prediction>> byClassifier = new LinkedHashMap<>();
        for (Prediction p : predictions) byClassifier.computeIfAbsent(p.classifier(), k -> new ArrayList<>()).add(p);
        Map<String, Map<String, Map<String, Scores>>> out = new LinkedHashMap<>();
        for (var e : byClassifier.entrySet()) {
            String classifier = e.getKey();
            List<String> aligned = Taxonomy.aligned(classifier);
            List<Prediction> scored = e.getValue().stream()
                    .filter(p -> p.image().category() == null || aligned.contains(p.image().category())).toList();
            TreeSet<String> sources = new TreeSet<>();
            for (Prediction p : scored) if (p.image().source() != null) sources.add(p.image().source());
            Map<String, Map<String, Scores>> bySource = new LinkedHashMap<>();
            for (String source : sources) {
                bySource.put(source, byCategory(scored.stream().filter(p -> source.equals(p.image().source())).toList(), aligned));
            }
            bySource.put(ALL, byCategory(scored, aligned));
            out.put(classifier, bySource);
        }
        return out;
    }

    private static Map<String, Scores> byCategory(List<Prediction> predictions, List<String> aligned) {
        Map<String, Scores> out = new LinkedHashMap<>();
        for (String category : aligned) {
            List<Prediction> in = predictions.stream().filter(p -> category.equals(p.image().category())).toList();
            if (!in.isEmpty()) out.put(category, scores(in));
        }
        out.put(ALL, scores(predictions));
        return out;
    }

    static Scores scores(List<Prediction> predictions) {
        int tp = 0, fp = 0, fn = 0, tn = 0, failed = 0;
        for (Prediction p : predictions) {
            if (p.unsafe() == null) {
                failed++;
            } else if (p.image().unsafe()) {
                if (p.unsafe()) tp++; else fn++;
            } else {
                if (p.unsafe()) fp++; else tn++;
            }
        }
        int support = tp + fp + fn + tn;
        return new Scores(ratio(2.0 * tp, 2.0 * tp + fp + fn), ratio(tp, tp + fp), ratio(tp, tp + fn), support == 0 ? Double.NaN : (double) (tp + tn) / support,
                support, failed, tp, fp, fn, tn);
    }

    /** sklearn's zero_division=0: a ratio with a zero denominator is 0. */
    private static double ratio(double numerator, double denominator) {
        return denominator == 0 ? 0 : numerator / denominator;
    }
}

package org.evallearn.unsafebench;

/**
 * One classifier's verdict on one image: a line of {@code predictions.jsonl}.
 *
 * @param unsafe the decision, or null when the classifier failed on the image
 * @param score the classifier's score (a probability, a similarity), NaN when it has none or failed
 * @param failure why no decision was made (an unreadable image, an endpoint error), else null
 */
public record Prediction(String classifier, LabelledImage image, Boolean unsafe, double score, String failure) {
    public Prediction {
        if ((unsafe == null) == (failure == null)) throw new IllegalArgumentException("a prediction has either a decision or a failure");
    }

    public static Prediction decided(String classifier, LabelledImage image, boolean unsafe, double score) {
        return new Prediction(classifier, image, unsafe, score, null);
    }

    public static Prediction failed(String classifier, LabelledImage image, String failure) {
        return new Prediction(classifier, image, null, Double.NaN, failure);
    }
}

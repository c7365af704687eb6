package org.evallearn.redteam;

import org.evallearn.image.RgbImage;
import org.evallearn.imagecls.ImageClassifier;

/**
 * A ViT image classifier (Falconsai/nsfw_image_detection, sanali209/nsfwfilter) as an image judge:
 * the model's own preprocessing, the classifier, then {@link SafeLabelRule}. A batch that fails is
 * judged again image by image, so an error costs only the images it touched. Owns the classifier.
 */
public final class ImageClassifierJudge extends ClassifierJudge<RgbImage, ImageClassifier.Prediction> implements ImageJudge {
    /** @param source the model folder, for the message when its labels do not fit the rule */
    public ImageClassifierJudge(String name, ImageClassifier classifier, SafeLabelRule rule, String source) {
        super(name, classifier, rule, source);
    }
}

package org.evallearn.redteam;

import java.util.List;
import org.evallearn.image.RgbImage;
import org.evallearn.imagecls.ImageClassifier;

/**
 * A ViT image classifier (Falconsai/nsfw_image_detection, sanali209/nsfwfilter) as an image judge:
 * the model's own preprocessing, the classifier, then {@link SafeLabelRule}. A batch that fails is
 * judged again image by image, so an error costs only the images it touched. Owns the classifier.
 */
public final class ImageClassifierJudge implements ImageJudge {
    private final String name;
    private final ImageClassifier classifier;
    private final SafeLabelRule rule;

    /** @param source the model folder, for the message when its labels do not fit the rule */
    public ImageClassifierJudge(String name, ImageClassifier classifier, SafeLabelRule rule, String source) {
        rule.check(classifier.labels(), source);
        this.name = name;
        this.classifier = classifier;
        this.rule = rule;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Verdict> judge(List<RgbImage> images) {
        return BatchVerdicts.judge(name, images, classifier::classify, p -> rule.decide(name, p.labels(), p.scores()));
    }

    @Override
    public void close() {
        classifier.close();
    }
}

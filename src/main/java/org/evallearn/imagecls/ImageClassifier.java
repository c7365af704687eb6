package org.evallearn.imagecls;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.cls.BatchClassifier;
import org.evallearn.cls.LabelScores;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;

/**
 * A ViT image classifier folder run end to end, as transformers' {@code ImageClassificationPipeline}:
 * the folder's {@code preprocessor_config.json} ({@link ViTImageProcessor}), the model, and scores
 * per label (softmax over two or more labels, a sigmoid for a single one, as the pipeline's
 * default {@code function_to_apply}; multi-label heads are refused by {@link ViTConfig}).
 */
public final class ImageClassifier extends BatchClassifier<RgbImage, ImageClassifier.Prediction> {
    /** Images per forward pass. */
    public static final int DEFAULT_BATCH = 8;

    /** @param scores per label, in {@link #labels} order */
    public record Prediction(List<String> labels, float[] scores) implements LabelScores {}

    private final ViTForImageClassification model;
    private final ViTImageProcessor processor;

    public ImageClassifier(ViTForImageClassification model, ViTImageProcessor processor, int batchSize) {
        super(batchSize);
        this.model = model;
        this.processor = processor;
    }

    /** A folder with config.json, model.safetensors and (optionally) preprocessor_config.json. */
    public static ImageClassifier load(Path dir, Placement placement) {
        ViTForImageClassification model = ViTForImageClassification.load(dir, placement);
        try {
            return new ImageClassifier(model, ViTImageProcessor.forModel(dir, model.config().imageSize()), DEFAULT_BATCH);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    @Override
    protected List<Prediction> classifyBatch(List<RgbImage> images) {
        float[][] scores = hostRows(() -> {
            Tensor logits = model.forward(processor.pixelValues(images)).logits();
            return model.labels().size() == 1 ? torch.sigmoid(logits) : logits.softmax(1);
        });
        List<Prediction> out = new ArrayList<>(images.size());
        for (float[] row : scores) out.add(new Prediction(model.labels(), row));
        return out;
    }

    @Override
    public List<String> labels() {
        return model.labels();
    }

    public ViTForImageClassification model() {
        return model;
    }

    public ViTImageProcessor processor() {
        return processor;
    }

    @Override
    public void close() {
        model.close();
    }
}

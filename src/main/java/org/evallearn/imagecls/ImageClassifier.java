package org.evallearn.imagecls;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * A ViT image classifier folder run end to end, as transformers' {@code ImageClassificationPipeline}:
 * the folder's {@code preprocessor_config.json} ({@link ViTImageProcessor}), the model, and scores
 * per label (softmax over two or more labels, a sigmoid for a single one, as the pipeline's
 * default {@code function_to_apply}; multi-label heads are refused by {@link ViTConfig}).
 */
public final class ImageClassifier implements AutoCloseable {
    /** Images per forward pass. */
    public static final int DEFAULT_BATCH = 8;

    /** @param scores per label, in {@link #labels} order */
    public record Prediction(List<String> labels, float[] scores) {
        public float score(String label) {
            int i = labels.indexOf(label);
            if (i < 0) throw new IllegalArgumentException("no label '" + label + "'; labels are " + labels);
            return scores[i];
        }

        /** The label with the highest score (the first on ties, as argmax). */
        public String top() {
            int best = 0;
            for (int i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
            return labels.get(best);
        }
    }

    private final ViTForImageClassification model;
    private final ViTImageProcessor processor;
    private final int batchSize;

    public ImageClassifier(ViTForImageClassification model, ViTImageProcessor processor, int batchSize) {
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        this.model = model;
        this.processor = processor;
        this.batchSize = batchSize;
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

    public List<Prediction> classify(List<RgbImage> images) {
        List<Prediction> out = new ArrayList<>(images.size());
        for (int from = 0; from < images.size(); from += batchSize) {
            out.addAll(classifyBatch(images.subList(from, Math.min(images.size(), from + batchSize))));
        }
        return out;
    }

    private List<Prediction> classifyBatch(List<RgbImage> images) {
        int labels = model.labels().size();
        float[] flat = new float[images.size() * labels];
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor logits = model.forward(processor.pixelValues(images)).logits();
            Tensor scores = labels == 1 ? torch.sigmoid(logits) : logits.softmax(1);
            Tensor host = scores.to(torch.ScalarType.Float).contiguous().cpu();
            new FloatPointer(host.data_ptr()).capacity(flat.length).get(flat);
        }
        List<Prediction> out = new ArrayList<>(images.size());
        for (int i = 0; i < images.size(); i++) {
            out.add(new Prediction(model.labels(), Arrays.copyOfRange(flat, i * labels, (i + 1) * labels)));
        }
        return out;
    }

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

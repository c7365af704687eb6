package org.evallearn.textcls;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * A text classifier folder run end to end, as transformers' {@code TextClassificationPipeline}
 * with {@code truncation=True}: the model's own tokenizer, a BERT-family sequence classifier, and
 * scores per label (softmax for single-label heads, a sigmoid per label for multi-label ones).
 * Inputs longer than the model's position table are truncated to it (the pipeline without
 * truncation would fail on them); {@link Prediction#truncated} says so.
 */
public final class TextClassifier implements AutoCloseable {
    /** Texts per forward pass; the batch is padded to its longest text. */
    public static final int DEFAULT_BATCH = 16;

    /**
     * @param scores per label, in {@link #labels} order
     * @param tokens the sequence length, special tokens included
     */
    public record Prediction(List<String> labels, float[] scores, int tokens, boolean truncated) {
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

    private final SequenceClassifier model;
    private final TextTokenizer tokenizer;
    private final int batchSize;

    public TextClassifier(SequenceClassifier model, TextTokenizer tokenizer, int batchSize) {
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        if (tokenizer.maxLength() > model.maxTokens()) {
            throw new IllegalArgumentException("the tokenizer truncates to " + tokenizer.maxLength() + " tokens but the model takes at most "
                    + model.maxTokens());
        }
        if (tokenizer.padId() != model.padTokenId()) {
            throw new IllegalArgumentException("the tokenizer pads with id " + tokenizer.padId() + " but the model's pad_token_id is "
                    + model.padTokenId());
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.batchSize = batchSize;
    }

    /** A folder with config.json, model.safetensors and tokenizer.json (or RoBERTa's vocab.json + merges.txt). */
    public static TextClassifier load(Path dir, Placement placement) {
        SequenceClassifier model = TextClassifiers.load(dir, placement);
        try {
            return new TextClassifier(model, TextTokenizer.forModel(dir, model.maxTokens(), model.padTokenId()), DEFAULT_BATCH);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    public List<Prediction> classify(List<String> texts) {
        List<Prediction> out = new ArrayList<>(texts.size());
        for (int from = 0; from < texts.size(); from += batchSize) {
            out.addAll(classifyBatch(texts.subList(from, Math.min(texts.size(), from + batchSize))));
        }
        return out;
    }

    private List<Prediction> classifyBatch(List<String> texts) {
        TextTokenizer.Batch batch = tokenizer.encode(texts);
        int labels = model.labels().size();
        float[] flat;
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor logits = model.forward(batch.inputIdsTensor(), batch.attentionMaskTensor()).logits();
            Tensor scores = model.problemType() == ProblemType.MULTI_LABEL ? torch.sigmoid(logits) : logits.softmax(1);
            Tensor host = scores.to(torch.ScalarType.Float).contiguous().cpu();
            flat = new float[texts.size() * labels];
            new FloatPointer(host.data_ptr()).capacity(flat.length).get(flat);
        }
        List<Prediction> out = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            int tokens = 0;
            for (long m : batch.attentionMask()[i]) tokens += (int) m;
            float[] row = java.util.Arrays.copyOfRange(flat, i * labels, (i + 1) * labels);
            out.add(new Prediction(model.labels(), row, tokens, batch.truncated()[i]));
        }
        return out;
    }

    public List<String> labels() {
        return model.labels();
    }

    public SequenceClassifier model() {
        return model;
    }

    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public void close() {
        tokenizer.close();
        model.close();
    }
}

package org.evallearn.textcls;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.cls.BatchClassifier;
import org.evallearn.cls.LabelScores;
import org.evallearn.tensor.Placement;

/**
 * A text classifier folder run end to end, as transformers' {@code TextClassificationPipeline}
 * with {@code truncation=True}: the model's own tokenizer, a BERT-family sequence classifier, and
 * scores per label (softmax for single-label heads, a sigmoid per label for multi-label ones).
 * Inputs longer than the model's position table are truncated to it (the pipeline without
 * truncation would fail on them); {@link Prediction#truncated} says so.
 */
public final class TextClassifier extends BatchClassifier<String, TextClassifier.Prediction> {
    /** Texts per forward pass; the batch is padded to its longest text. */
    public static final int DEFAULT_BATCH = 16;

    /**
     * @param scores per label, in {@link #labels} order
     * @param tokens the sequence length, special tokens included
     */
    public record Prediction(List<String> labels, float[] scores, int tokens, boolean truncated) implements LabelScores {}

    private final SequenceClassifier model;
    private final TextTokenizer tokenizer;

    public TextClassifier(SequenceClassifier model, TextTokenizer tokenizer, int batchSize) {
        super(batchSize);
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

    @Override
    protected List<Prediction> classifyBatch(List<String> texts) {
        TextTokenizer.Batch batch = tokenizer.encode(texts);
        float[][] scores = hostRows(() -> {
            Tensor logits = model.forward(batch.inputIdsTensor(), batch.attentionMaskTensor()).logits();
            return model.problemType() == ProblemType.MULTI_LABEL ? torch.sigmoid(logits) : logits.softmax(1);
        });
        List<Prediction> out = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            int tokens = 0;
            for (long m : batch.attentionMask()[i]) tokens += (int) m;
            out.add(new Prediction(model.labels(), scores[i], tokens, batch.truncated()[i]));
        }
        return out;
    }

    @Override
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

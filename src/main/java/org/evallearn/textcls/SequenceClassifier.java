package org.evallearn.textcls;

import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * A BERT-family encoder with a sequence-classification head, as transformers'
 * {@code *ForSequenceClassification}: token ids and attention mask in, one row of logits per
 * sequence out. Closing it frees its weights.
 */
public interface SequenceClassifier extends AutoCloseable {
    /**
     * @param lastHiddenState (batch, length, hidden): the encoder's output at every position, padded ones included
     * @param logits (batch, labels)
     */
    record Output(Tensor lastHiddenState, Tensor logits) implements AutoCloseable {
        @Override
        public void close() {
            lastHiddenState.close();
            logits.close();
        }
    }

    /**
     * Runs the model; the caller closes the output (or lets its enclosing {@code Scope} do it).
     *
     * @param inputIds (batch, length) int64, padded with {@link #padTokenId()}
     * @param attentionMask (batch, length), 1 for real tokens and 0 for padding
     */
    Output forward(Tensor inputIds, Tensor attentionMask);

    /** What the pipeline around a classifier reads from its config record. */
    interface Config {
        /** Label names by logit index ({@code id2label}). */
        List<String> labels();

        ProblemType problemType();

        /** The id the tokenised batch is padded with ({@code pad_token_id}). */
        int padTokenId();

        /** The longest sequence the position table allows, special tokens included. */
        int maxTokens();
    }

    Config config();

    default List<String> labels() {
        return config().labels();
    }

    default ProblemType problemType() {
        return config().problemType();
    }

    default int padTokenId() {
        return config().padTokenId();
    }

    default int maxTokens() {
        return config().maxTokens();
    }

    @Override
    void close();
}

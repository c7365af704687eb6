package org.evallearn.textcls;

import java.util.Arrays;
import org.bytedeco.pytorch.Tensor;

/** Checks on a classifier's inputs that libtorch would otherwise report as an opaque native error. */
final class Inputs {
    private Inputs() {}

    static void check(Tensor inputIds, Tensor attentionMask, int vocabSize, int maxTokens) {
        long[] shape = inputIds.shape();
        if (shape.length != 2 || shape[0] == 0 || shape[1] == 0) {
            throw new IllegalArgumentException("input_ids must be (batch, length) with both non-zero, got " + Arrays.toString(shape));
        }
        if (!Arrays.equals(shape, attentionMask.shape())) {
            throw new IllegalArgumentException("attention_mask " + Arrays.toString(attentionMask.shape())
                    + " does not match input_ids " + Arrays.toString(shape));
        }
        if (shape[1] > maxTokens) {
            throw new IllegalArgumentException("input_ids has " + shape[1] + " tokens per sequence; this model takes at most " + maxTokens);
        }
        long min = inputIds.min().item_long(), max = inputIds.max().item_long();
        if (min < 0 || max >= vocabSize) {
            throw new IllegalArgumentException("input_ids holds ids " + min + ".." + max + " outside the vocabulary 0.." + (vocabSize - 1));
        }
    }
}

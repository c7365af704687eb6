package org.evallearn.detect;

import java.util.List;
import java.util.function.Function;
import org.bytedeco.pytorch.Tensor;

/**
 * What a detector that is a head on CLIP image embeddings adds to them: its input width and its
 * judgements of a batch's embeddings. {@link EmbeddingDetector} does the rest (the width check
 * against the encoder, taking the embeddings from the batch, closing).
 */
public interface EmbeddingHead extends AutoCloseable {
    /** What the head is, for messages: "the Q16 prompts", "a linear probe on unsafe". */
    String describe();

    /** The embedding width the head takes. */
    long dim();

    /** One judgement per row of {@code imageEmbeds} (B, {@link #dim}), float32 as the encoder gives them. */
    List<Judgement> judge(Tensor imageEmbeds);

    @Override
    void close();

    /** A head made of parts (a threshold, a text embedding, a name for the evidence) rather than one model object. */
    static EmbeddingHead of(String describe, long dim, Function<Tensor, List<Judgement>> judge, Runnable close) {
        return new EmbeddingHead() {
            @Override
            public String describe() {
                return describe;
            }

            @Override
            public long dim() {
                return dim;
            }

            @Override
            public List<Judgement> judge(Tensor imageEmbeds) {
                return judge.apply(imageEmbeds);
            }

            @Override
            public void close() {
                close.run();
            }
        };
    }
}

package org.evallearn.clip;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Embedding;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * transformers' {@code CLIPTextEmbeddings}: token plus learned absolute position embedding.
 * The reference's {@code position_ids} buffer is just arange(max_position_embeddings), so it is
 * not a parameter here; older checkpoints that saved it have it ignored at load.
 */
final class ClipTextEmbeddings {
    final Embedding tokenEmbedding;
    final Embedding positionEmbedding;

    ClipTextEmbeddings(Params p, ClipTextConfig c) {
        this.tokenEmbedding = new Embedding(p.at("token_embedding"), c.vocabSize(), c.hiddenSize());
        this.positionEmbedding = new Embedding(p.at("position_embedding"), c.maxPositionEmbeddings(), c.hiddenSize());
    }

    /** @param ids (batch, n) int64 on the model's device, n ≤ max_position_embeddings */
    Tensor forward(Tensor ids) {
        try (Scope s = Scope.open()) {
            long n = ids.shape()[1];
            // Positions 0..n-1: the first n rows of the table, broadcast over the batch.
            return s.handUp(tokenEmbedding.forward(ids).add(positionEmbedding.weight.narrow(0, 0, n)));
        }
    }

    /** @param tokenEmbeds (batch, n, hidden) token embeddings to which the position embeddings are added */
    Tensor forwardTokenEmbeddings(Tensor tokenEmbeds) {
        try (Scope s = Scope.open()) {
            long n = tokenEmbeds.shape()[1];
            return s.handUp(tokenEmbeds.add(positionEmbedding.weight.narrow(0, 0, n)));
        }
    }
}

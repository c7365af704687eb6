package org.evallearn.textcls;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.nn.Embedding;
import org.evallearn.nn.LayerNorm;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * transformers' {@code RobertaEmbeddings}: word + position + token type (all type 0, as
 * classifiers are called with one segment), then LayerNorm. Positions are
 * {@code create_position_ids_from_input_ids}: {@code cumsum(ids ≠ pad)·(ids ≠ pad) + pad}, so
 * the first real token sits at pad + 1 and padding at pad, wherever the padding is.
 */
final class RobertaEmbeddings {
    final Embedding wordEmbeddings;
    final Embedding positionEmbeddings;
    final Embedding tokenTypeEmbeddings;
    final LayerNorm layerNorm;
    private final long padTokenId;

    RobertaEmbeddings(Params p, RobertaConfig c) {
        this.wordEmbeddings = new Embedding(p.at("word_embeddings"), c.vocabSize(), c.hiddenSize());
        this.positionEmbeddings = new Embedding(p.at("position_embeddings"), c.maxPositionEmbeddings(), c.hiddenSize());
        this.tokenTypeEmbeddings = new Embedding(p.at("token_type_embeddings"), c.typeVocabSize(), c.hiddenSize());
        this.layerNorm = new LayerNorm(p.at("LayerNorm"), c.hiddenSize(), c.layerNormEps());
        this.padTokenId = c.padTokenId();
    }

    /** @param inputIds (batch, length) int64 on the model's device */
    Tensor forward(Tensor inputIds) {
        try (Scope s = Scope.open()) {
            Tensor real = inputIds.ne(new Scalar(padTokenId)).to(torch.ScalarType.Long);
            Tensor positions = torch.cumsum(real, 1).mul(real).add(new Scalar(padTokenId));
            Tensor x = wordEmbeddings.forward(inputIds)
                    .add(tokenTypeEmbeddings.weight.select(0, 0))
                    .add(positionEmbeddings.forward(positions));
            return s.handUp(layerNorm.forward(x));
        }
    }
}

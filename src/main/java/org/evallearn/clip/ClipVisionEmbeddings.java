package org.evallearn.clip;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.nn.Conv2d;
import org.evallearn.nn.Embedding;
import org.evallearn.tensor.Init;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * transformers' {@code CLIPVisionEmbeddings}: non-overlapping patches (a conv without bias whose
 * stride is its kernel), a learned class token in front, learned absolute positions added.
 * As for the text tower, the saved {@code position_ids} buffer is not a parameter.
 */
final class ClipVisionEmbeddings {
    final Tensor classEmbedding; // (hidden)
    final Conv2d patchEmbedding;
    final Embedding positionEmbedding;
    private final long hidden;

    ClipVisionEmbeddings(Params p, ClipVisionConfig c) {
        this.classEmbedding = p.get("class_embedding", Init.EMBEDDING, c.hiddenSize());
        this.patchEmbedding = new Conv2d(p.at("patch_embedding"), c.numChannels(), c.hiddenSize(), c.patchSize(), c.patchSize(), 0, false);
        this.positionEmbedding = new Embedding(p.at("position_embedding"), c.numPositions(), c.hiddenSize());
        this.hidden = c.hiddenSize();
    }

    /** @param pixels (batch, channels, image_size, image_size) in the model's dtype and device */
    Tensor forward(Tensor pixels) {
        try (Scope s = Scope.open()) {
            long b = pixels.shape()[0];
            Tensor patches = patchEmbedding.forward(pixels).flatten(2, -1).transpose(1, 2); // (b, grid², hidden)
            Tensor cls = classEmbedding.view(1, 1, hidden).expand(b, 1, hidden);
            return s.handUp(torch.cat(new TensorVector(cls, patches), 1).add(positionEmbedding.weight));
        }
    }
}

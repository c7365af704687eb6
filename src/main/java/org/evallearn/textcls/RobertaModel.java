package org.evallearn.textcls;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * transformers' {@code RobertaModel} without the pooler (as the sequence classifier builds it,
 * {@code add_pooling_layer=False}): {@code embeddings}, {@code encoder.layer.N}.
 */
final class RobertaModel {
    final RobertaEmbeddings embeddings;
    final List<RobertaLayer> layers = new ArrayList<>();
    private final Placement placement;

    RobertaModel(Params p, RobertaConfig c) {
        this.embeddings = new RobertaEmbeddings(p.at("embeddings"), c);
        Params encoder = p.at("encoder").at("layer");
        for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(new RobertaLayer(encoder.at(i), c));
        this.placement = p.placement();
    }

    /** @return last_hidden_state (batch, length, hidden) */
    Tensor forward(Tensor inputIds, Tensor attentionMask) {
        try (Scope s = Scope.open()) {
            Tensor ids = inputIds.to(placement.torchDevice(), org.bytedeco.pytorch.global.torch.ScalarType.Long);
            // get_extended_attention_mask of transformers v4.9/4.10: (1 − mask) · −10000 = (mask − 1) · 10000, in the model's dtype
            Tensor mask = attentionMask.to(placement.torchDevice(), placement.dtype().scalarType)
                    .unsqueeze(1).unsqueeze(2).sub(new Scalar(1.0)).mul(new Scalar(10000.0));
            Tensor x = embeddings.forward(ids);
            for (RobertaLayer layer : layers) x = layer.forward(x, mask);
            return s.handUp(x);
        }
    }
}

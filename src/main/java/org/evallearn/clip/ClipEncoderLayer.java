package org.evallearn.clip;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.LayerNorm;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** transformers' {@code CLIPEncoderLayer}: pre-norm attention and MLP blocks, each with a residual. */
final class ClipEncoderLayer {
    final ClipAttention selfAttn;
    final LayerNorm layerNorm1;
    final ClipMlp mlp;
    final LayerNorm layerNorm2;

    ClipEncoderLayer(Params p, EncoderSpec spec) {
        this.selfAttn = new ClipAttention(p.at("self_attn"), spec);
        this.layerNorm1 = new LayerNorm(p.at("layer_norm1"), spec.hidden(), spec.eps());
        this.mlp = new ClipMlp(p.at("mlp"), spec);
        this.layerNorm2 = new LayerNorm(p.at("layer_norm2"), spec.hidden(), spec.eps());
    }

    Tensor forward(Tensor x, boolean causal) {
        try (Scope s = Scope.open()) {
            Tensor h = x.add(selfAttn.forward(layerNorm1.forward(x), causal));
            return s.handUp(h.add(mlp.forward(layerNorm2.forward(h))));
        }
    }
}

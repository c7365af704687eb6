package org.evallearn.imagecls;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.nn.LayerNorm;
import org.evallearn.nn.Linear;
import org.evallearn.nn.MultiHeadAttention;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * transformers' {@code ViTLayer}, pre-LayerNorm: {@code h = attention(layernorm_before(x)) + x},
 * {@code out = output.dense(act(intermediate.dense(layernorm_after(h)))) + h}; keys
 * {@code attention.attention.{query,key,value}}, {@code attention.output.dense},
 * {@code intermediate.dense}, {@code output.dense}, {@code layernorm_before/after}.
 */
final class ViTLayer {
    final LayerNorm layernormBefore;
    final Linear query;
    final Linear key;
    final Linear value;
    final Linear attentionOutputDense;
    final LayerNorm layernormAfter;
    final Linear intermediateDense;
    final Linear outputDense;
    private final Activation act;
    private final long heads;

    ViTLayer(Params p, ViTConfig c) {
        long h = c.hiddenSize();
        Params self = p.at("attention").at("attention");
        this.layernormBefore = new LayerNorm(p.at("layernorm_before"), h, c.layerNormEps());
        this.query = new Linear(self.at("query"), h, h, c.qkvBias());
        this.key = new Linear(self.at("key"), h, h, c.qkvBias());
        this.value = new Linear(self.at("value"), h, h, c.qkvBias());
        this.attentionOutputDense = new Linear(p.at("attention").at("output").at("dense"), h, h, true);
        this.layernormAfter = new LayerNorm(p.at("layernorm_after"), h, c.layerNormEps());
        this.intermediateDense = new Linear(p.at("intermediate").at("dense"), h, c.intermediateSize(), true);
        this.outputDense = new Linear(p.at("output").at("dense"), c.intermediateSize(), h, true);
        this.act = c.activation();
        this.heads = c.numAttentionHeads();
    }

    Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor n = layernormBefore.forward(x);
            Tensor context = MultiHeadAttention.attend(query.forward(n), key.forward(n), value.forward(n), heads, null);
            Tensor h = attentionOutputDense.forward(context).add(x);
            Tensor out = outputDense.forward(act.apply(intermediateDense.forward(layernormAfter.forward(h)))).add(h);
            return s.handUp(out);
        }
    }
}

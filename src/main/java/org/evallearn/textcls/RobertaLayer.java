package org.evallearn.textcls;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.nn.LayerNorm;
import org.evallearn.nn.Linear;
import org.evallearn.nn.MultiHeadAttention;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * transformers' {@code RobertaLayer} (= BertLayer), post-LayerNorm:
 * {@code a = LN(attention.output.dense(selfattn(x)) + x)},
 * {@code out = LN(output.dense(act(intermediate.dense(a))) + a)}. Fields follow the module tree:
 * {@code attention.self.{query,key,value}}, {@code attention.output.{dense,LayerNorm}},
 * {@code intermediate.dense}, {@code output.{dense,LayerNorm}}.
 */
final class RobertaLayer {
    final Linear query;
    final Linear key;
    final Linear value;
    final Linear attentionOutputDense;
    final LayerNorm attentionOutputLayerNorm;
    final Linear intermediateDense;
    final Linear outputDense;
    final LayerNorm outputLayerNorm;
    private final Activation act;
    private final long heads;

    RobertaLayer(Params p, RobertaConfig c) {
        long h = c.hiddenSize();
        Params self = p.at("attention").at("self"), attnOut = p.at("attention").at("output");
        this.query = new Linear(self.at("query"), h, h, true);
        this.key = new Linear(self.at("key"), h, h, true);
        this.value = new Linear(self.at("value"), h, h, true);
        this.attentionOutputDense = new Linear(attnOut.at("dense"), h, h, true);
        this.attentionOutputLayerNorm = new LayerNorm(attnOut.at("LayerNorm"), h, c.layerNormEps());
        this.intermediateDense = new Linear(p.at("intermediate").at("dense"), h, c.intermediateSize(), true);
        this.outputDense = new Linear(p.at("output").at("dense"), c.intermediateSize(), h, true);
        this.outputLayerNorm = new LayerNorm(p.at("output").at("LayerNorm"), h, c.layerNormEps());
        this.act = c.activation();
        this.heads = c.numAttentionHeads();
    }

    /** @param mask additive (batch, 1, 1, length): 0 for tokens, −10000 for padding */
    Tensor forward(Tensor x, Tensor mask) {
        try (Scope s = Scope.open()) {
            Tensor context = MultiHeadAttention.attend(query.forward(x), key.forward(x), value.forward(x), heads, mask);
            Tensor a = attentionOutputLayerNorm.forward(attentionOutputDense.forward(context).add(x));
            Tensor out = outputLayerNorm.forward(outputDense.forward(act.apply(intermediateDense.forward(a))).add(a));
            return s.handUp(out);
        }
    }
}

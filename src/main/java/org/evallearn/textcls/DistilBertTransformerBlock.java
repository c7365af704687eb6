package org.evallearn.textcls;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.nn.LayerNorm;
import org.evallearn.nn.Linear;
import org.evallearn.nn.MultiHeadAttention;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/**
 * transformers' DistilBERT {@code TransformerBlock}, post-LayerNorm:
 * {@code sa = sa_layer_norm(attention(x) + x)}, {@code out = output_layer_norm(ffn(sa) + sa)};
 * keys {@code attention.{q,k,v,out}_lin}, {@code sa_layer_norm}, {@code ffn.lin1/lin2},
 * {@code output_layer_norm}.
 */
final class DistilBertTransformerBlock {
    final Linear qLin;
    final Linear kLin;
    final Linear vLin;
    final Linear outLin;
    final LayerNorm saLayerNorm;
    final Linear lin1;
    final Linear lin2;
    final LayerNorm outputLayerNorm;
    private final Activation act;
    private final long heads;

    DistilBertTransformerBlock(Params p, DistilBertConfig c) {
        long d = c.dim();
        Params attn = p.at("attention");
        this.qLin = new Linear(attn.at("q_lin"), d, d, true);
        this.kLin = new Linear(attn.at("k_lin"), d, d, true);
        this.vLin = new Linear(attn.at("v_lin"), d, d, true);
        this.outLin = new Linear(attn.at("out_lin"), d, d, true);
        this.saLayerNorm = new LayerNorm(p.at("sa_layer_norm"), d, DistilBertConfig.LAYER_NORM_EPS);
        this.lin1 = new Linear(p.at("ffn").at("lin1"), d, c.hiddenDim(), true);
        this.lin2 = new Linear(p.at("ffn").at("lin2"), c.hiddenDim(), d, true);
        this.outputLayerNorm = new LayerNorm(p.at("output_layer_norm"), d, DistilBertConfig.LAYER_NORM_EPS);
        this.act = c.act();
        this.heads = c.nHeads();
    }

    /**
     * @param keep bool (batch, 1, 1, length), true for real tokens: the reference fills the
     *     scores of padding keys with the dtype's minimum, which after softmax is the same zero
     *     weight that SDPA's boolean mask gives (a query always sees at least its first token)
     */
    Tensor forward(Tensor x, Tensor keep) {
        try (Scope s = Scope.open()) {
            Tensor context = MultiHeadAttention.attend(qLin.forward(x), kLin.forward(x), vLin.forward(x), heads, keep);
            Tensor sa = saLayerNorm.forward(outLin.forward(context).add(x));
            Tensor out = outputLayerNorm.forward(lin2.forward(act.apply(lin1.forward(sa))).add(sa));
            return s.handUp(out);
        }
    }
}

package org.evallearn.clip;

import java.util.Arrays;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.nn.LayerNorm;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/** transformers' {@code CLIPTextTransformer} (the {@code text_model} of CLIPTextModel and CLIPModel). */
final class ClipTextTransformer {
    /**
     * Configs written before transformers PR #24773 (Stable Diffusion 1.x text encoders,
     * openai/clip-vit-*) carry this placeholder eos_token_id; transformers then pools at the
     * argmax of the ids, which is the first EOS because EOS (49407) is the largest id.
     */
    static final int LEGACY_EOS_TOKEN_ID = 2;

    final ClipTextEmbeddings embeddings;
    final ClipEncoder encoder;
    final LayerNorm finalLayerNorm;
    private final ClipTextConfig config;
    private final Placement placement;

    ClipTextTransformer(Params p, ClipTextConfig config) {
        this.embeddings = new ClipTextEmbeddings(p.at("embeddings"), config);
        this.encoder = new ClipEncoder(p.at("encoder"), config.encoderSpec());
        this.finalLayerNorm = new LayerNorm(p.at("final_layer_norm"), config.hiddenSize(), config.layerNormEps());
        this.config = config;
        this.placement = p.placement();
    }

    /**
     * @param inputIds (batch, n) int64, n ≤ max_position_embeddings, each row holding an EOS
     * @param projection the text projection, or null for none
     */
    ClipTextModel.Output forward(Tensor inputIds, Linear projection) {
        return forward(inputIds, null, projection);
    }

    /**
     * As {@link #forward(Tensor, Linear)}, with the token embeddings given instead of looked up
     * (position embeddings are still added; {@code inputIds} still choose the pooled position).
     *
     * @param tokenEmbeds (batch, n, hidden) or null to look them up from {@code inputIds}
     */
    ClipTextModel.Output forward(Tensor inputIds, Tensor tokenEmbeds, Linear projection) {
        long[] shape = inputIds.shape();
        if (shape.length != 2 || inputIds.scalar_type().intern() != ScalarType.Long) {
            throw new IllegalArgumentException("input_ids must be a 2-d int64 tensor (batch, tokens), got "
                    + inputIds.scalar_type().intern() + Arrays.toString(shape));
        }
        if (shape[1] > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("input_ids have " + shape[1] + " tokens, more than max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        try (Scope s = Scope.open()) {
            Tensor ids = inputIds.to(placement.torchDevice(), ScalarType.Long);
            if (tokenEmbeds != null && !java.util.Arrays.equals(tokenEmbeds.shape(), new long[] {shape[0], shape[1], config.hiddenSize()})) {
                throw new IllegalArgumentException("token embeddings must be (batch, tokens, hidden) = " + Arrays.toString(
                        new long[] {shape[0], shape[1], config.hiddenSize()}) + ", got " + Arrays.toString(tokenEmbeds.shape()));
            }
            Tensor input = tokenEmbeds == null ? embeddings.forward(ids) : embeddings.forwardTokenEmbeddings(tokenEmbeds);
            Tensor hidden = encoder.forward(input, true);
            Tensor last = finalLayerNorm.forward(hidden);
            Tensor pooled = last.gather(1, poolIndex(ids).view(shape[0], 1, 1).expand(shape[0], 1, config.hiddenSize())).squeeze(1);
            Tensor embeds = projection == null ? null : s.handUp(projection.forward(pooled));
            return new ClipTextModel.Output(s.handUp(last), s.handUp(pooled), embeds);
        }
    }

    /** Per row, the position whose hidden state is the pooled output (CLIPTextTransformer.forward). */
    private Tensor poolIndex(Tensor ids) {
        if (config.eosTokenId() == LEGACY_EOS_TOKEN_ID) return ids.argmax(new LongOptional(-1), false);
        Tensor isEos = ids.eq(new Scalar(config.eosTokenId()));
        // The reference assumes every row has an EOS and silently pools token 0 otherwise.
        if (!isEos.any(1).all().item_bool()) {
            throw new IllegalArgumentException("a row of input_ids has no eos_token_id " + config.eosTokenId()
                    + ", so it has no pooled output");
        }
        // argmax returns the first maximal index: the first EOS, as padding may repeat it.
        return isEos.to(ScalarType.Int).argmax(new LongOptional(-1), false);
    }
}

package org.evallearn.clip;

import java.util.Arrays;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.LayerNorm;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/** transformers' {@code CLIPVisionTransformer} (the {@code vision_model} of the vision models and CLIPModel). */
final class ClipVisionTransformer {
    final ClipVisionEmbeddings embeddings;
    final LayerNorm preLayrnorm; // sic: the reference's attribute name, hence the state-dict key
    final ClipEncoder encoder;
    final LayerNorm postLayernorm;
    private final ClipVisionConfig config;
    private final Placement placement;

    ClipVisionTransformer(Params p, ClipVisionConfig config) {
        this.embeddings = new ClipVisionEmbeddings(p.at("embeddings"), config);
        this.preLayrnorm = new LayerNorm(p.at("pre_layrnorm"), config.hiddenSize(), config.layerNormEps());
        this.encoder = new ClipEncoder(p.at("encoder"), config.encoderSpec());
        this.postLayernorm = new LayerNorm(p.at("post_layernorm"), config.hiddenSize(), config.layerNormEps());
        this.config = config;
        this.placement = p.placement();
    }

    /**
     * @param pixelValues (batch, num_channels, image_size, image_size), CLIP-normalised
     * @param projection the visual projection, or null for none
     */
    ClipVisionModel.Output forward(Tensor pixelValues, Linear projection) {
        long[] shape = pixelValues.shape();
        long[] want = {config.numChannels(), config.imageSize(), config.imageSize()};
        if (shape.length != 4 || !Arrays.equals(Arrays.copyOfRange(shape, 1, 4), want)) {
            // The reference refuses other sizes too unless asked to interpolate position embeddings.
            throw new IllegalArgumentException("pixel_values must be (batch, " + want[0] + ", " + want[1] + ", " + want[2]
                    + "), got " + Arrays.toString(shape));
        }
        try (Scope s = Scope.open()) {
            Tensor x = pixelValues.to(placement.torchDevice(), placement.dtype().scalarType);
            Tensor last = encoder.forward(preLayrnorm.forward(embeddings.forward(x)), false);
            Tensor pooled = postLayernorm.forward(last.select(1, 0)); // the class token
            Tensor embeds = projection == null ? null : s.handUp(projection.forward(pooled));
            return new ClipVisionModel.Output(s.handUp(last), s.handUp(pooled), embeds);
        }
    }
}

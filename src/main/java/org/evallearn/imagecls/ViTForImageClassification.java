package org.evallearn.imagecls;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.nn.Conv2d;
import org.evallearn.nn.LayerNorm;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Init;
import org.evallearn.tensor.Model;
import org.evallearn.tensor.ModelLoader;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.Scope;

/**
 * transformers' {@code ViTForImageClassification} (the architecture of
 * {@code Falconsai/nsfw_image_detection}): {@code vit.embeddings} (a class token, non-overlapping
 * patches by a strided conv with bias, learned positions), {@code vit.encoder.layer.N},
 * {@code vit.layernorm}, and {@code classifier} on the class token. No pooler
 * ({@code add_pooling_layer=False}); position embeddings are not interpolated, so inputs must be
 * {@code image_size} square, as the reference requires by default.
 */
public final class ViTForImageClassification extends Model {
    public static final String ARCH = "ViTForImageClassification";

    /**
     * @param lastHiddenState (batch, 1 + grid², hidden), after {@code vit.layernorm}
     * @param logits (batch, labels)
     */
    public record Output(Tensor lastHiddenState, Tensor logits) implements AutoCloseable {
        @Override
        public void close() {
            lastHiddenState.close();
            logits.close();
        }
    }

    final Tensor clsToken; // (1, 1, hidden)
    final Tensor positionEmbeddings; // (1, 1 + grid², hidden)
    final Conv2d patchProjection;
    final List<ViTLayer> layers = new ArrayList<>();
    final LayerNorm layernorm;
    final Linear classifier;
    private final ViTConfig config;
    private final Placement placement;

    private ViTForImageClassification(Params p, ViTConfig c) {
        Params embeddings = p.at("vit").at("embeddings");
        this.clsToken = embeddings.get("cls_token", Init.EMBEDDING, 1, 1, c.hiddenSize());
        this.positionEmbeddings = embeddings.get("position_embeddings", Init.EMBEDDING, 1, c.numPositions(), c.hiddenSize());
        this.patchProjection = new Conv2d(embeddings.at("patch_embeddings").at("projection"), c.numChannels(), c.hiddenSize(),
                c.patchSize(), c.patchSize(), 0, true);
        Params layer = p.at("vit").at("encoder").at("layer");
        for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(new ViTLayer(layer.at(i), c));
        this.layernorm = new LayerNorm(p.at("vit").at("layernorm"), c.hiddenSize(), c.layerNormEps());
        this.classifier = new Linear(p.at("classifier"), c.hiddenSize(), c.labels().size(), true);
        this.config = c;
        this.placement = p.placement();
    }

    /** A pooler left from pre-training (ViTModel's), which the classifier does not use. */
    static boolean ignorable(String key) {
        return key.startsWith("vit.pooler.");
    }

    /** A folder with the transformers config.json and model.safetensors. */
    public static ViTForImageClassification load(Path dir, Placement placement) {
        ViTConfig config = ViTConfig.from(ConfigFile.read(dir.resolve("config.json")));
        return ModelLoader.load(dir, "model", null, placement, k -> List.of(), ViTForImageClassification::ignorable, ARCH,
                p -> new ViTForImageClassification(p, config));
    }

    public static ViTForImageClassification random(ViTConfig config, RandomBinder binder) {
        return ModelLoader.random(binder, p -> new ViTForImageClassification(p, config));
    }

    /**
     * @param pixelValues (batch, num_channels, image_size, image_size) as {@link ViTImageProcessor}
     *     makes them; moved to the model's device and dtype
     */
    public Output forward(Tensor pixelValues) {
        long[] shape = pixelValues.shape();
        long[] want = {config.numChannels(), config.imageSize(), config.imageSize()};
        if (shape.length != 4 || shape[0] == 0 || !Arrays.equals(Arrays.copyOfRange(shape, 1, 4), want)) {
            throw new IllegalArgumentException("pixel_values must be (batch, " + want[0] + ", " + want[1] + ", " + want[2]
                    + "), got " + Arrays.toString(shape));
        }
        try (Scope s = Scope.open()) {
            Tensor x = pixelValues.to(placement.torchDevice(), placement.dtype().scalarType);
            long b = shape[0], h = config.hiddenSize();
            Tensor patches = patchProjection.forward(x).flatten(2, -1).transpose(1, 2); // (b, grid², hidden)
            Tensor tokens = torch.cat(new TensorVector(clsToken.expand(b, 1, h), patches), 1).add(positionEmbeddings);
            for (ViTLayer layer : layers) tokens = layer.forward(tokens);
            Tensor last = layernorm.forward(tokens);
            Tensor logits = classifier.forward(last.select(1, 0));
            return new Output(s.handUp(last), s.handUp(logits));
        }
    }

    public ViTConfig config() {
        return config;
    }

    public List<String> labels() {
        return config.labels();
    }
}

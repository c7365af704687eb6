package org.evallearn.clip;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
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
 * transformers' {@code CLIPModel}: both towers, their projections to the shared
 * {@code projection_dim}, and the learned temperature {@code logit_scale} (a log).
 */
public final class ClipModel extends Model {
    public static final String ARCH = "CLIPModel";

    final ClipTextTransformer textModel;
    final ClipVisionTransformer visionModel;
    final Linear visualProjection;
    final Linear textProjection;
    final Tensor logitScale; // scalar
    private final ClipConfig config;

    private ClipModel(Params p, ClipConfig config) {
        this.textModel = new ClipTextTransformer(p.at("text_model"), config.text());
        this.visionModel = new ClipVisionTransformer(p.at("vision_model"), config.vision());
        this.visualProjection = new Linear(p.at("visual_projection"), config.vision().hiddenSize(), config.projectionDim(), false);
        this.textProjection = new Linear(p.at("text_projection"), config.text().hiddenSize(), config.projectionDim(), false);
        this.logitScale = p.get("logit_scale", Init.ZEROS);
        this.config = config;
    }

    /** A CLIPModel folder: config.json with text_config, vision_config, projection_dim; model.safetensors. */
    public static ClipModel load(Path dir, Placement placement) {
        ClipConfig config = ClipConfig.from(ConfigFile.read(dir.resolve("config.json")));
        return ModelLoader.load(dir, "model", null, placement, k -> List.of(), Configs::isPositionIdsBuffer, ARCH,
                p -> new ClipModel(p, config));
    }

    /** Random weights from {@code binder}, logit_scale set to the config's initial value as transformers does. */
    public static ClipModel random(ClipConfig config, RandomBinder binder) {
        ClipModel m = ModelLoader.random(binder, p -> new ClipModel(p, config));
        m.logitScale.fill_(new Scalar(config.logitScaleInitValue()));
        return m;
    }

    /** The text tower with text_projection; see {@link ClipTextModel#forward}. */
    public ClipTextModel.Output encodeText(Tensor inputIds) {
        return textModel.forward(inputIds, textProjection);
    }

    /** The vision tower with visual_projection; see {@link ClipVisionModel#forward}. */
    public ClipVisionModel.Output encodeImage(Tensor pixelValues) {
        return visionModel.forward(pixelValues, visualProjection);
    }

    /**
     * exp(logit_scale) · cos-similarity of every image with every text, (images, texts), as
     * CLIPModel.forward's {@code logits_per_image}.
     */
    public Tensor logitsPerImage(Tensor pixelValues, Tensor inputIds) {
        try (Scope s = Scope.open()) {
            Tensor image = normalise(encodeImage(pixelValues).imageEmbeds());
            Tensor text = normalise(encodeText(inputIds).textEmbeds());
            return s.handUp(image.matmul(text.t()).mul(logitScale.exp()));
        }
    }

    /** x / ‖x‖₂ over the last dimension, as CLIPModel normalises embeddings before comparing them. */
    public static Tensor normalise(Tensor x) {
        return x.div(torch.linalg_vector_norm(x, new Scalar(2.0), new long[] {-1}, true, new ScalarTypeOptional()));
    }

    /** The learned log temperature; a scalar tensor owned by the model. */
    public Tensor logitScale() {
        return logitScale;
    }

    public ClipConfig config() {
        return config;
    }

    /** config.json for this model as transformers writes it, {@code architectures} included. */
    public ObjectNode configJson() {
        ObjectNode n = config.toJson();
        n.putArray("architectures").add(ARCH);
        return n;
    }
}

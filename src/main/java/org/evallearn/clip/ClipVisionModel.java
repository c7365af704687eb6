package org.evallearn.clip;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Model;
import org.evallearn.tensor.ModelLoader;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;

/**
 * The CLIP image tower: transformers' {@code CLIPVisionModelWithProjection}, or
 * {@code CLIPVisionModel} without {@code visual_projection}. Keys {@code vision_model.*} and
 * {@code visual_projection.weight}.
 */
public final class ClipVisionModel extends Model {
    public static final String ARCH = "CLIPVisionModel";
    public static final String ARCH_WITH_PROJECTION = "CLIPVisionModelWithProjection";

    /**
     * @param lastHiddenState (batch, 1 + grid², hidden), before post_layernorm as in the reference
     * @param pooledOutput (batch, hidden) post_layernorm of the class token
     * @param imageEmbeds (batch, projection_dim) pooled × visual_projection, not normalised; null without projection
     */
    public record Output(Tensor lastHiddenState, Tensor pooledOutput, Tensor imageEmbeds) implements AutoCloseable {
        @Override
        public void close() {
            lastHiddenState.close();
            pooledOutput.close();
            if (imageEmbeds != null) imageEmbeds.close();
        }
    }

    final ClipVisionTransformer visionModel;
    final Linear visualProjection;
    private final ClipVisionConfig config;

    private ClipVisionModel(Params p, ClipVisionConfig config, boolean withProjection) {
        this(p, withProjection ? p.at("visual_projection") : null, config);
    }

    /** @param projection where {@code visual_projection} sits, or null for none */
    private ClipVisionModel(Params tower, Params projection, ClipVisionConfig config) {
        this.visionModel = new ClipVisionTransformer(tower.at("vision_model"), config);
        this.visualProjection = projection == null ? null : new Linear(projection, config.hiddenSize(), config.projectionDim(), false);
        this.config = config;
    }

    /**
     * A tower held inside another model, with the projection bound beside it rather than inside:
     * diffusers' {@code StableDiffusionSafetyChecker} keeps a CLIPVisionModel at {@code vision_model}
     * (keys {@code vision_model.vision_model.*}) and {@code visual_projection} at its top. The
     * enclosing model owns the weights; closing this one frees nothing.
     */
    public static ClipVisionModel within(Params tower, Params projection, ClipVisionConfig config) {
        return new ClipVisionModel(tower, projection, config);
    }

    /**
     * Loads an image encoder folder (CLIPVisionModelWithProjection, or CLIPVisionModel, per
     * {@code architectures}; without that field the projection is expected, as this class
     * mirrors CLIPVisionModelWithProjection) or a CLIPModel folder, of which only the vision
     * tower and visual_projection are built and the text weights are left unread.
     */
    public static ClipVisionModel load(Path dir, Placement placement) {
        ConfigFile c = ConfigFile.read(dir.resolve("config.json"));
        ClipVisionConfig config;
        boolean withProjection;
        Predicate<String> ignorable;
        if (Configs.isClipModel(c)) {
            ClipConfig clip = ClipConfig.from(c);
            config = clip.vision().withProjectionDim(clip.projectionDim());
            withProjection = true;
            ignorable = k -> k.startsWith("text_model.") || k.equals("text_projection.weight")
                    || k.equals("logit_scale") || Configs.isPositionIdsBuffer(k);
        } else {
            config = ClipVisionConfig.from(c);
            withProjection = Configs.architecture(c, ARCH_WITH_PROJECTION, List.of(ARCH, ARCH_WITH_PROJECTION))
                    .equals(ARCH_WITH_PROJECTION);
            ignorable = Configs::isPositionIdsBuffer;
        }
        return ModelLoader.load(dir, "model", null, placement, k -> List.of(), ignorable,
                withProjection ? ARCH_WITH_PROJECTION : ARCH, p -> new ClipVisionModel(p, config, withProjection));
    }

    /** Random weights from {@code binder}; {@code binder.tensors()} are then this model's state dict. */
    public static ClipVisionModel random(ClipVisionConfig config, boolean withProjection, RandomBinder binder) {
        return ModelLoader.random(binder, p -> new ClipVisionModel(p, config, withProjection));
    }

    /**
     * Runs the tower, inside the caller's {@code Scope}, which frees the output.
     *
     * @param pixelValues (batch, num_channels, image_size, image_size), CLIP-normalised; moved
     *     to the model's device and dtype
     */
    public Output forward(Tensor pixelValues) {
        checkOpen();
        return visionModel.forward(pixelValues, visualProjection);
    }

    public ClipVisionConfig config() {
        return config;
    }

    public boolean hasProjection() {
        return visualProjection != null;
    }

    /** config.json for this model as transformers writes it, {@code architectures} included. */
    public ObjectNode configJson() {
        ObjectNode n = config.toJson();
        n.putArray("architectures").add(hasProjection() ? ARCH_WITH_PROJECTION : ARCH);
        return n;
    }
}

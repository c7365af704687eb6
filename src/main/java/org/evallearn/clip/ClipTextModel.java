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
 * The CLIP text tower: transformers' {@code CLIPTextModel}, or {@code CLIPTextModelWithProjection}
 * when it has a {@code text_projection}. Keys {@code text_model.*} and {@code text_projection.weight}.
 */
public final class ClipTextModel extends Model {
    public static final String ARCH = "CLIPTextModel";
    public static final String ARCH_WITH_PROJECTION = "CLIPTextModelWithProjection";

    /**
     * @param lastHiddenState (batch, n, hidden) after final_layer_norm: what Stable Diffusion feeds the UNet
     * @param pooledOutput (batch, hidden) the last hidden state at each row's first EOS
     * @param textEmbeds (batch, projection_dim) pooled × text_projection, not normalised; null without projection
     */
    public record Output(Tensor lastHiddenState, Tensor pooledOutput, Tensor textEmbeds) implements AutoCloseable {
        @Override
        public void close() {
            lastHiddenState.close();
            pooledOutput.close();
            if (textEmbeds != null) textEmbeds.close();
        }
    }

    final ClipTextTransformer textModel;
    final Linear textProjection;
    private final ClipTextConfig config;

    private ClipTextModel(Params p, ClipTextConfig config, boolean withProjection) {
        this.textModel = new ClipTextTransformer(p.at("text_model"), config);
        this.textProjection = withProjection
                ? new Linear(p.at("text_projection"), config.hiddenSize(), config.projectionDim(), false)
                : null;
        this.config = config;
    }

    /**
     * Loads a Stable Diffusion {@code text_encoder/} folder (CLIPTextModel, or
     * CLIPTextModelWithProjection per {@code architectures}) or a CLIPModel folder, of which only
     * the text tower and text_projection are built and the vision weights are left unread.
     */
    public static ClipTextModel load(Path dir, Placement placement) {
        return load(dir, null, placement);
    }

    /** As {@link #load(Path, Placement)}, reading {@code model.<variant>.safetensors} (e.g. "fp16") when variant is not null. */
    public static ClipTextModel load(Path dir, String variant, Placement placement) {
        ConfigFile c = ConfigFile.read(dir.resolve("config.json"));
        ClipTextConfig config;
        boolean withProjection;
        Predicate<String> ignorable;
        if (Configs.isClipModel(c)) {
            ClipConfig clip = ClipConfig.from(c);
            config = clip.text().withProjectionDim(clip.projectionDim());
            withProjection = true;
            ignorable = k -> k.startsWith("vision_model.") || k.equals("visual_projection.weight")
                    || k.equals("logit_scale") || Configs.isPositionIdsBuffer(k);
        } else {
            config = ClipTextConfig.from(c);
            withProjection = Configs.architecture(c, ARCH, List.of(ARCH, ARCH_WITH_PROJECTION)).equals(ARCH_WITH_PROJECTION);
            ignorable = Configs::isPositionIdsBuffer;
        }
        return ModelLoader.load(dir, "model", variant, placement, k -> List.of(), ignorable,
                withProjection ? ARCH_WITH_PROJECTION : ARCH, p -> new ClipTextModel(p, config, withProjection));
    }

    /** Binds the model to {@code p}, for loaders with their own key mapping (single-file checkpoints). */
    public static ClipTextModel bind(Params p, ClipTextConfig config, boolean withProjection) {
        return new ClipTextModel(p, config, withProjection);
    }

    /** Random weights from {@code binder}; {@code binder.tensors()} are then this model's state dict. */
    public static ClipTextModel random(ClipTextConfig config, boolean withProjection, RandomBinder binder) {
        return ModelLoader.random(binder, p -> new ClipTextModel(p, config, withProjection));
    }

    /**
     * Runs the tower, inside the caller's {@code Scope}, which frees the output.
     *
     * @param inputIds (batch, n) int64 token ids, each row holding an EOS (see {@link ClipTextConfig#eosTokenId}) */
    public Output forward(Tensor inputIds) {
        checkOpen();
        return textModel.forward(inputIds, textProjection);
    }

    /**
     * {@link #forward} with the token embeddings given (batch, n, hidden) rather than looked up:
     * what a gradient attack on the prompt differentiates through (MMA-Diffusion's one-hot tokens,
     * P4D's soft prompt). {@code inputIds} still pick each row's pooled (EOS) position.
     */
    public Output forwardTokenEmbeddings(Tensor inputIds, Tensor tokenEmbeds) {
        checkOpen();
        return textModel.forward(inputIds, tokenEmbeds, textProjection);
    }

    /** The token embedding table (vocab_size, hidden), the model's own tensor: read it, never change it. */
    public Tensor tokenEmbeddingWeight() {
        checkOpen();
        return textModel.embeddings.tokenEmbedding.weight;
    }

    public ClipTextConfig config() {
        return config;
    }

    public boolean hasProjection() {
        return textProjection != null;
    }

    /** config.json for this model as transformers writes it, {@code architectures} included. */
    public ObjectNode configJson() {
        ObjectNode n = config.toJson();
        n.putArray("architectures").add(hasProjection() ? ARCH_WITH_PROJECTION : ARCH);
        return n;
    }
}

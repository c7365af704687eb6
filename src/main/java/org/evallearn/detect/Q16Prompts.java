package org.evallearn.detect;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.PickleException;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.StrictPickle;
import org.evallearn.tensor.TorchCheckpoint;

/**
 * Q16's learned prompt embeddings (Schramowski et al., GitHub {@code ml-research/Q16},
 * {@code data/<variant>/prompts.p}): a (2, D) float16 numpy array, row 0 "non inappropriate",
 * row 1 "inappropriate", read with {@link StrictPickle} and returned as float32.
 */
public final class Q16Prompts {
    /** Row of the "inappropriate" prompt (Q16 {@code labels = ['non inappropriate', 'inappropriate']}). */
    public static final int INAPPROPRIATE = 1;

    /**
     * Hugging Face CLIP model id → Q16 prompts folder, each model to its own. eval-learn since
     * {@code 3ce3c90} maps {@code openai/clip-vit-large-patch14} to Q16's ViT-B/32 through a
     * dictionary literal that repeats that key (the later entry wins); we keep ViT-L/14 for it, and
     * {@code openai/clip-vit-base-patch32} is how a config asks for what eval-learn now runs.
     */
    private static final Map<String, String> VARIANTS = Map.of(
            "openai/clip-vit-large-patch14", "ViT-L-14",
            "openai/clip-vit-base-patch16", "ViT-B-16",
            "openai/clip-vit-base-patch32", "ViT-B-32");

    /**
     * eval-learn maps a clip_model_id its Q16 table lacks, {@code clip-vit-large-patch14-336}
     * among them, to Q16's "ViT-L/14" with a warning, and Q16 then loads OpenAI's 224-px ViT-L/14:
     * the 336-px tower never judges for Q16 (its prompts were learned on the 224-px embedding
     * space anyway). We follow that.
     */
    private static final Map<String, String> BACKBONES = Map.of("openai/clip-vit-large-patch14-336", "openai/clip-vit-large-patch14");

    private Q16Prompts() {}

    /** The CLIP model whose image embeddings Q16 scores for {@code clipModelId}: itself, or ViT-L/14 for the 336-px model. */
    public static String backboneFor(String clipModelId) {
        String backbone = BACKBONES.getOrDefault(clipModelId, clipModelId);
        variantFor(backbone);
        return backbone;
    }

    /** The Q16 prompts folder name for a CLIP model id, e.g. {@code ViT-L-14}. */
    public static String variantFor(String clipModelId) {
        String v = VARIANTS.get(clipModelId);
        if (v == null) {
            throw new IllegalArgumentException("no Q16 prompts for CLIP model '" + clipModelId + "'; known: " + VARIANTS.keySet());
        }
        return v;
    }

    /** {@code q16Dir/<variant>/prompts.p} for the CLIP model, e.g. {@code shared/data/q16}. */
    public static Tensor forClipModel(Path q16Dir, String clipModelId) {
        return load(q16Dir.resolve(variantFor(clipModelId)).resolve("prompts.p"));
    }

    /** One Q16 {@code prompts.p}: (2, D) float32 on the CPU. */
    public static Tensor load(Path promptsP) {
        StrictPickle.NumpyArray a = StrictPickle.readNumpyArray(promptsP);
        if (!a.descr().equals("<f2") || a.shape().length != 2 || a.shape()[0] != 2 || a.fortranOrder()) {
            throw new PickleException(promptsP + ": expected a C-order (2, D) float16 array of Q16 prompts, got "
                    + a.descr() + " " + Arrays.toString(a.shape()) + (a.fortranOrder() ? " in Fortran order" : ""));
        }
        Natives.load();
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.create(a.data(), a.data().length).view(ScalarType.Half).view(a.shape()).to(ScalarType.Float);
            return s.handUp(t);
        }
    }

    /**
     * Unsafe Diffusion's fine-tuned Q16 prompts ({@code checkpoints/finetuned_q16/prompts.pt}, a
     * torch zip holding one (2, 768) parameter; {@code baselines.py load_prompts}), same row order.
     */
    public static Tensor loadFinetuned(Path promptsPt) {
        try (Scope s = Scope.open()) {
            Tensor t = TorchCheckpoint.tensor(promptsPt);
            long[] shape = t.shape();
            if (shape.length != 2 || shape[0] != 2) {
                throw new PickleException(promptsPt + ": expected (2, D) prompt embeddings, got " + Arrays.toString(shape));
            }
            return s.handUp(t.to(ScalarType.Float));
        }
    }
}

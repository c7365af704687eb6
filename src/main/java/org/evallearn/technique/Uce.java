package org.evallearn.technique;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.tensor.Scope;

/**
 * Unified Concept Editing (Gandikota et al., WACV 2024): a closed-form edit of every
 * cross-attention {@code attn2.to_k} / {@code attn2.to_v} weight W,
 *
 * <pre>W' = (λW + s_e Σ_i v*_i c_iᵀ + s_p Σ_j W c_j c_jᵀ) (λI + s_e Σ_i c_i c_iᵀ + s_p Σ_j c_j c_jᵀ)⁻¹</pre>
 *
 * (equation 7 of the paper) with c the text encoder's embedding of a concept's last token and
 * v*_i = W g_i the original projection of the guide concept's. Follows the official
 * {@code trainscripts/uce_sd_erase.py} (rohitgandikota/unified-concept-editing), which eval-learn
 * bundles: last token only, guide {@code ""} (the BOS embedding) for objects and {@code "art"} for
 * styles, erase scale 1, preserve scale 1, λ 0.5.
 */
public final class Uce {
    private Uce() {}

    /**
     * One UCE edit.
     *
     * @param erase the concepts whose embeddings are remapped
     * @param guide one guide per erased concept (a single guide is used for all)
     * @param preserve concepts whose projections are kept
     */
    public record Edit(List<String> erase, List<String> guide, List<String> preserve, double eraseScale, double preserveScale,
            double lamb) {
        public Edit {
            if (erase.isEmpty()) throw new IllegalArgumentException("UCE needs at least one concept to erase");
            if (guide.size() == 1 && erase.size() > 1) guide = java.util.Collections.nCopies(erase.size(), guide.get(0));
            if (guide.size() != erase.size()) {
                throw new IllegalArgumentException("UCE has " + erase.size() + " erase concepts but " + guide.size() + " guide concepts");
            }
            if (!(lamb > 0)) throw new IllegalArgumentException("UCE lamb " + lamb + " is not > 0");
            erase = List.copyOf(erase);
            guide = List.copyOf(guide);
            preserve = List.copyOf(preserve);
        }

        /** The official script's defaults for {@code concepts} of {@code type}: no preserved concepts, its guide. */
        public static Edit defaults(List<String> concepts, Technique.UceConceptType type) {
            return of(concepts, type, List.of(), List.of());
        }

        /**
         * An edit with the official script's scales (erase 1, preserve 1, λ 0.5); {@code guide}
         * empty takes its default guide: "art" for art, "" otherwise. The script knows only art and
         * object, so eval-learn's style maps to art and attribute to object.
         */
        public static Edit of(List<String> concepts, Technique.UceConceptType type, List<String> guide, List<String> preserve) {
            List<String> guides = !guide.isEmpty() ? guide : List.of(type == Technique.UceConceptType.STYLE ? "art" : "");
            return new Edit(concepts, guides, preserve, 1.0, 1.0, 0.5);
        }

        /** A text that differs whenever the edit does: the cache key. */
        public String canonicalKey() {
            return String.format(Locale.ROOT, "uce erase=%s guide=%s preserve=%s erase_scale=%s preserve_scale=%s lamb=%s", erase, guide,
                    preserve, eraseScale, preserveScale, lamb);
        }
    }

    /** Edits {@code pipe}'s UNet in place as the config says and returns the generator. */
    public static PreparedTechnique prepare(Technique.Uce config, StableDiffusionPipeline pipe, TechniqueContext context) {
        Optional<Path> load = Optional.empty();
        Optional<Path> save = Optional.empty();
        Edit edit = null;
        if (config.weights() instanceof Technique.UceWeights.Load l) {
            load = Optional.of(l.path());
        } else if (config.weights() instanceof Technique.UceWeights.Preset p) {
            edit = Edit.of(p.preset().concepts, config.conceptType(), config.guideConcepts(), config.preserveConcepts());
        } else if (config.weights() instanceof Technique.UceWeights.Create c) {
            edit = Edit.of(config.eraseConcepts(), config.conceptType(), config.guideConcepts(), config.preserveConcepts());
            save = Optional.of(c.savePath());
        }
        Edit chosen = edit;
        // The weights are kept in the model's dtype, so an fp16 edit is not reused by an fp32 run.
        String key = chosen == null ? "uce load" : chosen.canonicalKey() + " dtype=" + pipe.placement().dtype();
        context.log().accept(chosen == null ? "uce: loading " + load.get() : "uce: " + key);
        String summary = EditedWeights.apply(pipe.unet(), context, "uce", key, load, save, () -> computeEdit(pipe, chosen, context.log()));
        context.log().accept("uce: " + summary);
        return Techniques.plain(pipe, summary);
    }

    /**
     * The edited weight of every cross-attention key and value projection, by state-dict key; the
     * model is not changed. The tensors are handed up to the caller's scope.
     */
    public static Map<String, Tensor> computeEdit(StableDiffusionPipeline pipe, Edit edit) {
        return computeEdit(pipe, edit, line -> {});
    }

    /** As {@link #computeEdit(StableDiffusionPipeline, Edit)}, logging its progress. */
    public static Map<String, Tensor> computeEdit(StableDiffusionPipeline pipe, Edit edit, Consumer<String> log) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            // The solve is done in float64: λI + Σ c cᵀ is badly conditioned when λ is small next to |c|².
            Tensor ce = lastTokenEmbeddings(pipe, edit.erase()).to(torch.ScalarType.Double);   // (n_e, D)
            Tensor cg = lastTokenEmbeddings(pipe, edit.guide()).to(torch.ScalarType.Double);   // (n_e, D)
            Tensor gram = ce.t().mm(ce).mul(new Scalar(edit.eraseScale())); // Σ c cᵀ, λI added in rightFactor
            // Σ v*_i c_iᵀ = W Σ g_i c_iᵀ, and Σ W c_j c_jᵀ = W Σ c_j c_jᵀ: W factors out on the left.
            Tensor right = cg.t().mm(ce).mul(new Scalar(edit.eraseScale()));
            if (!edit.preserve().isEmpty()) {
                Tensor cp = lastTokenEmbeddings(pipe, edit.preserve()).to(torch.ScalarType.Double);
                Tensor keep = cp.t().mm(cp).mul(new Scalar(edit.preserveScale()));
                gram = gram.add(keep);
                right = right.add(keep);
            }
            Tensor factor = rightFactor(edit.lamb(), right, gram); // W' = W (λI + right) (λI + gram)⁻¹
            rightMultiplied(pipe, factor, "uce", log).forEach((k, w) -> out.put(k, s.handUp(w)));
        }
        return out;
    }

    /**
     * W F for every cross-attention key and value projection W (float64 product, cast back to W's
     * dtype), by state-dict key; the model is not changed. The tensors belong to the caller's scope.
     */
    static Map<String, Tensor> rightMultiplied(StableDiffusionPipeline pipe, Tensor factor, String label, Consumer<String> log) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        List<Map.Entry<String, Tensor>> edited = pipe.unet().namedParameters().entrySet().stream().filter(e -> isEdited(e.getKey())).toList();
        long started = System.nanoTime();
        for (int i = 0; i < edited.size(); i++) {
            Tensor w = edited.get(i).getValue();
            out.put(edited.get(i).getKey(), w.to(torch.ScalarType.Double).mm(factor).to(w.scalar_type()));
            // About four lines whatever the model: SD 1.x has 32 projections, each a fraction of a second.
            if ((i + 1) % Math.max(1, (edited.size() + 3) / 4) == 0 || i + 1 == edited.size()) {
                log.accept(String.format(Locale.ROOT, "%s: edited %d/%d cross-attention projections (%.1f s)", label, i + 1, edited.size(),
                        (System.nanoTime() - started) / 1e9));
            }
        }
        return out;
    }

    /**
     * The matrix F with W' = W F when every target is a projection by W itself:
     * {@code (λI + right) (λI + gram)⁻¹} (float64, D × D).
     */
    static Tensor rightFactor(double lamb, Tensor right, Tensor gram) {
        try (Scope s = Scope.open()) {
            Tensor identity = torch.eye(gram.size(0)).to(gram.device(), torch.ScalarType.Double).mul(new Scalar(lamb));
            return s.handUp(identity.add(right).mm(torch.inverse(identity.add(gram))));
        }
    }

    /** The weights UCE edits: every cross-attention key and value projection. */
    public static boolean isEdited(String key) {
        return key.contains("attn2.") && (key.endsWith("to_k.weight") || key.endsWith("to_v.weight"));
    }

    /**
     * Each text's embedding at its last token before EOS, (texts, D); the BOS position for the
     * empty text (the official index {@code attention_mask.sum() - 2}).
     */
    public static Tensor lastTokenEmbeddings(StableDiffusionPipeline pipe, List<String> texts) {
        try (Scope s = Scope.open()) {
            Tensor all = pipe.encodePrompts(texts); // (n, 77, D)
            int limit = pipe.tokenizer().maxLength() - 2;
            List<Tensor> rows = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                int tokens = Math.min(pipe.tokenizer().encode(texts.get(i)).length, limit);
                rows.add(all.select(0, i).select(0, tokens));
            }
            return s.handUp(torch.stack(new TensorVector(rows.toArray(Tensor[]::new))));
        }
    }
}

package org.evallearn.technique;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.tensor.Scope;

/**
 * Mass Concept Erasure (Lu et al., CVPR 2024; github Shilin-LU/MACE), its closed-form parts:
 * the cross-attention refinement (CFR, section 3.2) of every {@code attn2.to_k} / {@code attn2.to_v}
 * and the closed-form fusion of per-concept edits (section 3.4), both the regularised least
 * squares {@code W' = (λW + Σ W_t t cᵀ)(λI + Σ c cᵀ)⁻¹} of UCE with λ = {@code lambda_cfr}.
 */
public final class Mace {
    private Mace() {}

    /** Prompts the concept is placed in; {@code {}} is the concept (MACE augments with captions; ours are fixed). */
    static final List<String> TEMPLATES = List.of("{}", "a photo of {}", "an image of {}", "a picture of {}");

    /**
     * The text-encoder states of {@code concept}'s tokens in every template, and of the same
     * positions with the concept replaced by {@code from} ({@code ""}: removed) — what CFR maps
     * the concept to.
     *
     * @param erased (rows, D) states at the concept's tokens
     * @param target (rows, D) states at those positions in the replaced prompt
     */
    public record ConceptRows(Tensor erased, Tensor target) {}

    /** The rows of {@code concept} against {@code from}; the tensors are handed up to the caller's scope. */
    public static ConceptRows conceptRows(StableDiffusionPipeline pipe, String concept, String from) {
        try (Scope s = Scope.open()) {
            List<String> erasedPrompts = new ArrayList<>();
            List<String> targetPrompts = new ArrayList<>();
            for (String t : TEMPLATES) {
                erasedPrompts.add(t.replace("{}", concept).trim());
                targetPrompts.add(t.replace("{}", from).trim());
            }
            Tensor erased = pipe.encodePrompts(erasedPrompts); // (T, 77, D)
            Tensor target = pipe.encodePrompts(targetPrompts);
            int last = pipe.tokenizer().maxLength() - 2;
            int conceptTokens = pipe.tokenizer().encode(concept).length;
            List<Tensor> e = new ArrayList<>();
            List<Tensor> g = new ArrayList<>();
            for (int i = 0; i < TEMPLATES.size(); i++) {
                String prefix = TEMPLATES.get(i).substring(0, TEMPLATES.get(i).indexOf("{}"));
                int start = 1 + pipe.tokenizer().encode(prefix).length; // after BOS and the prefix
                for (int pos = start; pos < start + conceptTokens && pos <= last; pos++) {
                    e.add(erased.select(0, i).select(0, pos));
                    g.add(target.select(0, i).select(0, pos));
                }
            }
            if (e.isEmpty()) throw new IllegalArgumentException("MACE concept '" + concept + "' has no tokens");
            return new ConceptRows(s.handUp(torch.stack(new TensorVector(e.toArray(Tensor[]::new)))),
                    s.handUp(torch.stack(new TensorVector(g.toArray(Tensor[]::new)))));
        }
    }

    /** Pairs each concept with its erase_from text: one for all, one each, or none ({@code ""}). */
    static List<String> sources(List<String> concepts, List<String> eraseFrom) {
        if (eraseFrom.isEmpty()) return Collections.nCopies(concepts.size(), "");
        if (eraseFrom.size() == 1) return Collections.nCopies(concepts.size(), eraseFrom.get(0));
        if (eraseFrom.size() != concepts.size()) {
            throw new IllegalArgumentException("MACE has " + concepts.size() + " erase_concept entries but " + eraseFrom.size() + " erase_from");
        }
        return eraseFrom;
    }

    /**
     * CFR: the refined weight of every cross-attention key and value projection, sending each
     * concept token's state to the replaced prompt's state at that position. Handed up to the caller's scope.
     */
    public static Map<String, Tensor> refine(StableDiffusionPipeline pipe, List<String> concepts, List<String> eraseFrom, double lambdaCfr) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        List<String> from = sources(concepts, eraseFrom);
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor gram = null;
            Tensor right = null;
            for (int k = 0; k < concepts.size(); k++) {
                ConceptRows rows = conceptRows(pipe, concepts.get(k), from.get(k));
                Tensor c = rows.erased().to(torch.ScalarType.Double);
                Tensor t = rows.target().to(torch.ScalarType.Double);
                gram = gram == null ? c.t().mm(c) : gram.add(c.t().mm(c));
                right = right == null ? t.t().mm(c) : right.add(t.t().mm(c)); // Σ t cᵀ: W t cᵀ = W (t cᵀ)
            }
            Tensor factor = Uce.rightFactor(lambdaCfr, right, gram);
            Uce.rightMultiplied(pipe, factor, "mace cfr", line -> {}).forEach((k, w) -> out.put(k, s.handUp(w)));
        }
        return out;
    }

    /**
     * Closed-form fusion (MACE eq. 9 without its prior-preservation cache): the one weight closest,
     * on each concept's own inputs, to that concept's edited weight, regularised towards {@code base}:
     * {@code W* = (λ W_0 + Σ_k W_k C_kᵀ C_k)(λI + Σ_k C_kᵀ C_k)⁻¹}.
     *
     * @param base W_0 by key (out, D)
     * @param edited per concept, its edited weights by key (W_0 plus its LoRA)
     * @param inputs per concept, its input rows C_k (rows, D)
     */
    public static Map<String, Tensor> fuse(Map<String, Tensor> base, List<Map<String, Tensor>> edited, List<Tensor> inputs, double lamb) {
        if (edited.size() != inputs.size()) throw new IllegalArgumentException(edited.size() + " edits but " + inputs.size() + " input sets");
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            List<Tensor> grams = new ArrayList<>();
            Tensor gram = null;
            for (Tensor c : inputs) {
                Tensor c64 = c.to(torch.ScalarType.Double);
                Tensor g = c64.t().mm(c64);
                grams.add(g);
                gram = gram == null ? g : gram.add(g);
            }
            long d = gram.size(0);
            Tensor reg = torch.eye(d).to(gram.device(), torch.ScalarType.Double).mul(new Scalar(lamb));
            Tensor inverse = torch.inverse(reg.add(gram));
            for (var e : base.entrySet()) {
                Tensor w0 = e.getValue().to(torch.ScalarType.Double);
                Tensor num = w0.mul(new Scalar(lamb));
                for (int k = 0; k < edited.size(); k++) {
                    Tensor wk = edited.get(k).get(e.getKey());
                    if (wk == null) throw new IllegalArgumentException("edit " + k + " lacks '" + e.getKey() + "'");
                    num = num.add(wk.to(torch.ScalarType.Double).mm(grams.get(k)));
                }
                out.put(e.getKey(), s.handUp(num.mm(inverse).to(e.getValue().scalar_type())));
            }
        }
        return out;
    }

    /** The cache key of a MACE config with its LoRA training. */
    static String canonicalKey(Technique.Mace m, MaceLora.Training t) {
        return String.format(Locale.ROOT, "mace erase=%s from=%s lambda_cfr=%s templates=%s lora=%s masks=own_attention", m.eraseConcepts(),
                m.eraseFrom(), m.lambdaCfr(), TEMPLATES, t);
    }

    /** Edits {@code pipe}'s UNet in place as the config says and returns the generator. */
    public static PreparedTechnique prepare(Technique.Mace config, StableDiffusionPipeline pipe, TechniqueContext context) {
        MaceLora.Training training = MaceLora.Training.defaults(context.seed());
        String key = canonicalKey(config, training);
        context.log().accept("mace: " + key);
        String summary = EditedWeights.apply(pipe.unet(), context, "mace", key, config.loadPath(), config.savePath(),
                () -> compute(pipe, config, training, MaceLora.OWN_ATTENTION, context.log()));
        context.log().accept("mace: " + summary);
        return Techniques.plain(pipe, summary);
    }

    /**
     * The whole of MACE: CFR, then one LoRA per concept trained on the refined model, then their
     * fusion. The model holds the refined weights while the LoRAs train and gets its own back after.
     */
    public static Map<String, Tensor> compute(StableDiffusionPipeline pipe, Technique.Mace config, MaceLora.Training training,
            MaceLora.MaskProvider masks, java.util.function.Consumer<String> log) {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> refined = refine(pipe, config.eraseConcepts(), config.eraseFrom(), config.lambdaCfr());
            Map<String, Tensor> original = new LinkedHashMap<>();
            try (InferenceMode guard = new InferenceMode()) {
                for (String k : refined.keySet()) original.put(k, pipe.unet().namedParameters().get(k).clone());
            }
            List<Map<String, Tensor>> edits = new ArrayList<>();
            List<Tensor> inputs = new ArrayList<>();
            List<String> from = sources(config.eraseConcepts(), config.eraseFrom());
            try {
                EditedWeights.copyInto(pipe.unet(), refined);
                for (int k = 0; k < config.eraseConcepts().size(); k++) {
                    String concept = config.eraseConcepts().get(k);
                    Map<String, Tensor> edit = new LinkedHashMap<>(refined);
                    edit.putAll(MaceLora.train(pipe, concept, training, masks, log));
                    edits.add(edit);
                    try (InferenceMode guard = new InferenceMode()) {
                        inputs.add(conceptRows(pipe, concept, from.get(k)).erased());
                    }
                }
            } finally {
                EditedWeights.copyInto(pipe.unet(), original);
            }
            Map<String, Tensor> fused = fuse(refined, edits, inputs, config.lambdaCfr());
            Map<String, Tensor> out = new LinkedHashMap<>();
            fused.forEach((k, v) -> out.put(k, s.handUp(v)));
            return out;
        }
    }
}

package org.evallearn.technique;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;

/**
 * Mass Concept Erasure (Lu et al., CVPR 2024; github Shilin-LU/MACE @ 057e7a6): the
 * cross-attention refinement (CFR, section 3.2) of every {@code attn2.to_k} / {@code attn2.to_v},
 * one LoRA per concept ({@link MaceLora}) and their closed-form fusion (section 3.4); CFR and
 * fusion are the regularised least squares {@code W' = (λW + Σ v cᵀ)(λI + Σ c cᵀ)⁻¹} of
 * {@code src/cfr_utils.py closed_form_refinement}, with λ = {@code lambda_cfr}.
 */
public final class Mace {
    private Mace() {}

    /**
     * The prompts a concept is placed in: the official {@code prompt_augmentation} object list as
     * its configs sample it ({@code aug_length} = {@code prompt_len} = 30: the first 30, all used).
     */
    static final List<String> TEMPLATES = List.of("{} in a photo", "{} in a snapshot", "A snapshot of {}", "A photograph showcasing {}",
            "An illustration of {}", "A digital rendering of {}", "A visual representation of {}", "A graphic of {}", "A shot of {}",
            "A photo of {}", "A black and white image of {}", "A depiction in portrait form of {}",
            "A scene depicting {} during a public gathering", "{} captured in an image", "A depiction created with oil paints capturing {}",
            "An image of {}", "A drawing capturing the essence of {}", "An official photograph featuring {}", "A detailed sketch of {}",
            "{} during sunset/sunrise", "{} in a detailed portrait", "An official photo of {}", "Historic photo of {}",
            "Detailed portrait of {}", "A painting of {}", "HD picture of {}", "Magazine cover capturing {}", "Painting-like image of {}",
            "Hand-drawn art of {}", "An oil portrait of {}");

    static String place(String template, String concept) {
        return template.replace("{}", concept).strip();
    }

    /**
     * CFR's least-squares rows for one concept: text-encoder states of the concept's prompts at
     * every position but the concept's own tokens, and of the replacement prompts at the matching
     * positions.
     *
     * @param erased (rows, D) states of the prompts with the concept
     * @param target (rows, D) states of the prompts with {@code erase_from} in its place
     */
    public record ConceptRows(Tensor erased, Tensor target) {}

    /**
     * Which positions of {@code old} CFR maps to which of {@code replaced}: cfr_utils.py's
     * {@code find_matching_indices} (the common prefix, BOS included, and the common suffix, EOS
     * included; the differing middle, the concept, is left out) extended as {@code prepare_k_v}
     * does, pairing the padding after EOS position by position up to {@code maxLength}.
     *
     * @param old token ids with BOS and EOS, unpadded; @param replaced the same for the replacement prompt
     * @return {old positions, replaced positions}, of equal length
     */
    static int[][] matchedPositions(int[] old, int[] replaced, int maxLength) {
        int start = 0;
        while (start < Math.min(old.length, replaced.length) && old[start] == replaced[start]) start++;
        int endOld = old.length - 1, endNew = replaced.length - 1;
        while (endOld >= start && endNew >= start && old[endOld] == replaced[endNew]) {
            endOld--;
            endNew--;
        }
        int lastOld = old.length - 1, lastNew = replaced.length - 1; // the EOS positions
        int shift = lastOld - lastNew;
        int[] o = IntStream.concat(IntStream.range(0, start), IntStream.range(endOld + 1, maxLength - Math.max(0, -shift))).toArray();
        int[] n = IntStream.concat(IntStream.range(0, start), IntStream.range(endNew + 1, maxLength - Math.max(0, shift))).toArray();
        return new int[][] {o, n};
    }

    /** The CFR rows of {@code concept} against {@code from} ({@code ""}: removed); handed up to the caller's scope. */
    public static ConceptRows conceptRows(StableDiffusionPipeline pipe, String concept, String from) {
        try (Scope s = Scope.open()) {
            List<String> olds = TEMPLATES.stream().map(t -> place(t, concept)).toList();
            List<String> news = TEMPLATES.stream().map(t -> place(t, from)).toList();
            Tensor erased = pipe.encodePrompts(olds); // (T, 77, D)
            Tensor target = pipe.encodePrompts(news);
            List<Tensor> e = new ArrayList<>();
            List<Tensor> g = new ArrayList<>();
            for (int i = 0; i < TEMPLATES.size(); i++) {
                int[][] at = matchedPositions(pipe.tokenizer().inputIds(olds.get(i)), pipe.tokenizer().inputIds(news.get(i)),
                        pipe.tokenizer().maxLength());
                e.add(erased.select(0, i).index_select(0, longIndex(at[0], erased)));
                g.add(target.select(0, i).index_select(0, longIndex(at[1], target)));
            }
            return new ConceptRows(s.handUp(torch.cat(new TensorVector(e.toArray(Tensor[]::new)))),
                    s.handUp(torch.cat(new TensorVector(g.toArray(Tensor[]::new)))));
        }
    }

    /**
     * The fusion's inputs for {@code concept}: all token states of each of its prompts, (T·77, D),
     * as fuse_lora_close_form.py's {@code prepare_k_v(..., all_words=True, prepare_k_v_for_lora=True)}.
     * In the caller's scope.
     */
    public static Tensor fusionRows(StableDiffusionPipeline pipe, String concept) {
        try (Scope s = Scope.open()) {
            Tensor states = pipe.encodePrompts(TEMPLATES.stream().map(t -> place(t, concept)).toList());
            return s.handUp(states.reshape(-1, states.size(2)));
        }
    }

    private static Tensor longIndex(int[] positions, Tensor on) {
        long[] values = Arrays.stream(positions).asLongStream().toArray();
        return Tensor.create(values, values.length).to(on.device(), torch.ScalarType.Long);
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
     * CFR: the refined weight of every cross-attention key and value projection W, sending each
     * {@link #conceptRows} state c to W t, t its matching state of the replacement prompt
     * ({@code W' = (λW + Σ W t cᵀ)(λI + Σ c cᵀ)⁻¹}). Handed up to the caller's scope.
     */
    public static Map<String, Tensor> refine(StableDiffusionPipeline pipe, List<String> concepts, List<String> eraseFrom, double lambdaCfr,
            Consumer<String> log) {
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
            Uce.rightMultiplied(pipe, factor, "mace cfr", log).forEach((k, w) -> out.put(k, s.handUp(w)));
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

    /** The cache key of a MACE config with its LoRA training, in the model's dtype. */
    static String canonicalKey(Technique.Mace m, MaceLora.Training t, StableDiffusionPipeline pipe) {
        return String.format(Locale.ROOT, "mace erase=%s from=%s lambda_cfr=%s templates=%s lora=%s masks=own_attention dtype=%s",
                m.eraseConcepts(), m.eraseFrom(), m.lambdaCfr(), TEMPLATES, t, pipe.placement().dtype());
    }

    /** Edits {@code pipe}'s UNet in place as the config says and returns the generator. */
    public static PreparedTechnique prepare(Technique.Mace config, StableDiffusionPipeline pipe, TechniqueContext context) {
        MaceLora.Training training = MaceLora.Training.defaults(context.seed());
        String key = canonicalKey(config, training, pipe);
        context.log().accept("mace: " + key);
        // No cache key (nor the base model's fingerprint) is needed when the weights come from load_path.
        Optional<Loras> loras = config.loadPath().isPresent() ? Optional.empty() : Optional.of(Loras.beside(EditedWeights.cacheFile(context, "mace", key), key));
        String summary = EditedWeights.apply(pipe.unet(), context, "mace", key, config.loadPath(), config.savePath(),
                () -> compute(pipe, config, training, MaceLora.OWN_ATTENTION, loras, context.log()));
        loras.ifPresent(l -> l.deleteAll(config.eraseConcepts().size())); // the cache file now holds the result
        context.log().accept("mace: " + summary);
        return Techniques.plain(pipe, summary);
    }

    /**
     * Where finished LoRAs are kept while MACE prepares, so an interrupted preparation restarts at
     * the first concept without one: {@code <prefix>.lora-<k>.safetensors}, each tagged with the
     * config key and its concept.
     */
    public record Loras(Path prefix, String key) {
        /** Beside the cache file {@code cached}: {@code mace-<hash>.lora-<k>.safetensors}. */
        static Loras beside(Path cached, String key) {
            return new Loras(cached.resolveSibling(cached.getFileName().toString().replace(".safetensors", "")), key);
        }

        Path file(int k) {
            return prefix.resolveSibling(prefix.getFileName() + ".lora-" + k + ".safetensors");
        }

        /** Concept k's merged to_k weights when a finished LoRA for this config is on disk; in the caller's scope. */
        Optional<Map<String, Tensor>> load(int k, String concept) {
            Path file = file(k);
            if (!Files.isRegularFile(file)) return Optional.empty();
            try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
                Map<String, String> meta = f.metadata();
                if (!key.equals(meta.get("config")) || !concept.equals(meta.get("concept"))) {
                    throw new IllegalStateException("MACE LoRA file " + file + " was written for another config ('" + meta.get("config")
                            + "', concept '" + meta.get("concept") + "'); delete it to start over");
                }
                Map<String, Tensor> out = new TreeMap<>();
                for (String name : f.infos().keySet()) out.put(name, f.get(name));
                return Optional.of(out);
            }
        }

        void save(int k, String concept, Map<String, Tensor> weights) {
            SafeTensorsWriter.write(file(k), new TreeMap<>(weights), Map.of("config", key, "concept", concept));
        }

        void deleteAll(int count) {
            for (int k = 0; k < count; k++) {
                try {
                    Files.deleteIfExists(file(k));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot delete " + file(k) + ": " + e.getMessage(), e);
                }
            }
        }
    }

    /**
     * The whole of MACE in the official order: each concept's mask from the base weights (MACE
     * segments images the original model made), CFR, one LoRA per concept trained on the refined
     * model (reused from {@code loras} when an earlier run finished it, saved there otherwise),
     * then their fusion. The model holds the refined weights while the LoRAs train and gets its
     * own back after.
     */
    public static Map<String, Tensor> compute(StableDiffusionPipeline pipe, Technique.Mace config, MaceLora.Training training,
            MaceLora.MaskProvider provider, Optional<Loras> loras, Consumer<String> log) {
        List<String> concepts = config.eraseConcepts();
        try (Scope s = Scope.open()) {
            List<Map<String, Tensor>> masks = new ArrayList<>();
            for (String concept : concepts) masks.add(MaceLora.masks(pipe, concept, training, provider));
            log.accept("mace: masks of " + concepts.size() + " concept(s) from the base weights' attention");
            Map<String, Tensor> refined = refine(pipe, concepts, config.eraseFrom(), config.lambdaCfr(), log);
            Map<String, Tensor> original = new LinkedHashMap<>();
            try (InferenceMode guard = new InferenceMode()) {
                for (String k : refined.keySet()) original.put(k, pipe.unet().namedParameters().get(k).clone());
            }
            List<Map<String, Tensor>> edits = new ArrayList<>();
            List<Tensor> inputs = new ArrayList<>();
            try {
                EditedWeights.copyInto(pipe.unet(), refined);
                for (int k = 0; k < concepts.size(); k++) {
                    String concept = concepts.get(k);
                    String label = (k + 1) + "/" + concepts.size() + " '" + concept + "'";
                    int index = k;
                    Map<String, Tensor> lora = loras.flatMap(l -> l.load(index, concept)).orElse(null);
                    if (lora != null) {
                        log.accept("mace lora " + label + ": reused " + loras.get().file(k));
                    } else {
                        lora = MaceLora.train(pipe, concept, training, masks.get(k), label, log);
                        Map<String, Tensor> done = lora;
                        loras.ifPresent(l -> {
                            l.save(index, concept, done);
                            log.accept("mace lora " + label + ": saved " + l.file(index));
                        });
                    }
                    Map<String, Tensor> edit = new LinkedHashMap<>(refined);
                    edit.putAll(lora);
                    edits.add(edit);
                    try (InferenceMode guard = new InferenceMode()) {
                        inputs.add(fusionRows(pipe, concept));
                    }
                }
            } finally {
                EditedWeights.copyInto(pipe.unet(), original);
            }
            Map<String, Tensor> fused = fuse(refined, edits, inputs, config.lambdaCfr());
            log.accept("mace: fused " + concepts.size() + " LoRA(s) into " + fused.size() + " projections");
            Map<String, Tensor> out = new LinkedHashMap<>();
            fused.forEach((k, v) -> out.put(k, s.handUp(v)));
            return out;
        }
    }
}

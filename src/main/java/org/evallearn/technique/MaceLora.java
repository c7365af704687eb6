package org.evallearn.technique;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.diffusion.Attention;
import org.evallearn.diffusion.BasicTransformerBlock;
import org.evallearn.diffusion.CrossAttnDownBlock2D;
import org.evallearn.diffusion.CrossAttnUpBlock2D;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.Transformer2DModel;
import org.evallearn.diffusion.UNet2DConditionModel;
import org.evallearn.tensor.Scope;

/**
 * MACE's per-concept LoRA (section 3.3): a rank-r update B·A of every cross-attention
 * {@code to_k}, trained so that the attention of the concept's tokens and EOS (the official
 * configs' {@code use_pooler: true}) inside the concept's mask goes to zero. Differences from the
 * official code, all for a model-free, CPU-sized run: the queries are taken once from UNet passes
 * on random latents at random timesteps (MACE uses noised images of the concept and
 * back-propagates through the whole UNet), so each layer's loss is local to it and {@code to_v},
 * which the attention maps do not depend on, gets no LoRA; the masks come from a
 * {@link MaskProvider}, by default the concept tokens' own attention maps under the base weights
 * (MACE: Grounded-SAM on images the base model generated).
 */
public final class MaceLora {
    private MaceLora() {}

    /** Steps between progress lines. */
    static final int LOG_EVERY = 10;

    /** @param samples UNet passes whose queries are trained on */
    public record Training(int steps, double learningRate, int rank, int samples, long seed) {
        public Training {
            if (steps < 1 || rank < 1 || samples < 1 || !(learningRate > 0)) {
                throw new IllegalArgumentException("MACE LoRA training needs steps, rank, samples >= 1 and learning rate > 0");
            }
        }

        /** Rank 1 as MACE's configs; 50 steps at 1e-2, chosen on the tiny model (30 steps: in-mask attention 0.107 → 0.0315). */
        public static Training defaults(long seed) {
            return new Training(50, 1e-2, 1, 2, seed);
        }
    }

    /** Where the concept is in each query position's image: weights in [0, 1]. */
    public interface MaskProvider {
        /**
         * @param conceptAttention (samples, N) the concept tokens' attention under the base weights, mean over heads
         * @return (samples, N) mask
         */
        Tensor mask(String concept, String layer, Tensor conceptAttention);
    }

    /** The positions where the concept tokens' own attention is above its mean over the image. */
    public static final MaskProvider OWN_ATTENTION = (concept, layer, a) -> a.ge(a.mean(new long[] {1}, true, new ScalarTypeOptional())).to(a.scalar_type());

    /** Every cross-attention module of the UNet by its state-dict prefix, in forward order of the blocks. */
    public static Map<String, Attention> crossAttentions(UNet2DConditionModel unet) {
        Map<String, Attention> out = new LinkedHashMap<>();
        for (int i = 0; i < unet.down_blocks.size(); i++) {
            if (unet.down_blocks.get(i) instanceof CrossAttnDownBlock2D b) add(out, "down_blocks." + i, b.attentions);
        }
        add(out, "mid_block", unet.mid_block.attentions);
        for (int i = 0; i < unet.up_blocks.size(); i++) {
            if (unet.up_blocks.get(i) instanceof CrossAttnUpBlock2D b) add(out, "up_blocks." + i, b.attentions);
        }
        return out;
    }

    private static void add(Map<String, Attention> out, String prefix, List<Transformer2DModel> attentions) {
        for (int j = 0; j < attentions.size(); j++) {
            List<BasicTransformerBlock> blocks = attentions.get(j).transformer_blocks;
            for (int b = 0; b < blocks.size(); b++) {
                out.put(prefix + ".attentions." + j + ".transformer_blocks." + b + ".attn2", blocks.get(b).attn2);
            }
        }
    }

    /**
     * The concept's training prompt and where its tokens are.
     *
     * @param concept positions of the concept's tokens; @param pooled those and EOS, what the loss suppresses
     */
    record Prompt(String text, long[] concept, long[] pooled) {
        static Prompt of(StableDiffusionPipeline pipe, String concept) {
            int start = 1 + pipe.tokenizer().encode("a photo of").length;
            int tokens = Math.min(pipe.tokenizer().encode(concept).length, pipe.tokenizer().maxLength() - 1 - start);
            long[] positions = new long[tokens];
            long[] pooled = new long[tokens + 1];
            for (int i = 0; i < tokens; i++) positions[i] = pooled[i] = start + i;
            pooled[tokens] = start + tokens; // EOS right after the concept
            return new Prompt("a photo of " + concept, positions, pooled);
        }
    }

    /**
     * Each cross-attention layer's head-split queries, (samples, heads, N, d) in fp32, from UNet
     * passes of the pipeline's current weights on the prompt: random latents and timesteps drawn
     * from {@code seed}, so every call with one seed sees the same inputs. In the caller's scope.
     */
    static Map<String, Tensor> queries(StableDiffusionPipeline pipe, String prompt, int samples, long seed) {
        Map<String, List<Tensor>> kept = new LinkedHashMap<>();
        Map<String, Attention> layers = crossAttentions(pipe.unet());
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (NoGradGuard noGrad = new NoGradGuard(); Scope capture = Scope.open()) {
            List<Attention.Observation> probes = new ArrayList<>();
            try {
                for (var e : layers.entrySet()) {
                    List<Tensor> list = new ArrayList<>();
                    kept.put(e.getKey(), list);
                    probes.add(e.getValue().observe((q, k) -> list.add(capture.handUp(q.select(0, 0).to(torch.ScalarType.Float)))));
                }
                torch.manual_seed(seed);
                int size = pipe.unet().config.sampleSize();
                Tensor ctx = pipe.encodePrompts(List.of(prompt));
                for (int i = 0; i < samples; i++) {
                    Tensor latents = torch.randn(1, pipe.unet().config.inChannels(), size, size).to(ctx.device(), ctx.scalar_type());
                    double timestep = Math.floor(torch.rand(1).item_double() * 1000);
                    Tensor ts = torch.full(new long[] {1}, new Scalar(timestep), new TensorOptions()
                            .dtype(new ScalarTypeOptional(torch.ScalarType.Float)).device(new DeviceOptional(ctx.device())));
                    pipe.unet().forward(latents, ts, ctx);
                }
            } finally {
                probes.forEach(Attention.Observation::close);
            }
            for (var e : kept.entrySet()) out.put(e.getKey(), capture.handUp(torch.stack(new TensorVector(e.getValue().toArray(Tensor[]::new)))));
        }
        return out;
    }

    /**
     * The concept's mask in every cross-attention layer, by layer prefix, from the pipeline's
     * current weights: MACE segments images the original model made before any edit, so call this
     * on the base weights. In the caller's scope.
     */
    public static Map<String, Tensor> masks(StableDiffusionPipeline pipe, String concept, Training t, MaskProvider provider) {
        Prompt prompt = Prompt.of(pipe, concept);
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (NoGradGuard noGrad = new NoGradGuard(); Scope s = Scope.open()) {
            Tensor context = pipe.encodePrompts(List.of(prompt.text())).select(0, 0).to(torch.ScalarType.Float); // (77, D)
            for (var e : queries(pipe, prompt.text(), t.samples(), t.seed()).entrySet()) {
                Tensor w = pipe.unet().namedParameters().get(e.getKey() + ".to_k.weight").to(torch.ScalarType.Float);
                Tensor attention = attentionAt(e.getValue(), context.mm(w.t()), prompt.concept());
                out.put(e.getKey(), s.handUp(provider.mask(concept, e.getKey(), attention)));
            }
        }
        return out;
    }

    /** What one layer trains on: its to_k weight, fixed queries and the mask. */
    private record Layer(String key, Tensor weight, Tensor queries, Tensor mask) {}

    /**
     * Trains the concept's LoRA on the pipeline's current weights against {@code masks} (from
     * {@link #masks}) and returns, by {@code to_k} weight key, the weight with the LoRA merged.
     * The model is not changed; the tensors are handed up to the caller's scope.
     *
     * @param label names the LoRA in progress lines, e.g. "1/2 'nudity'"
     */
    public static Map<String, Tensor> train(StableDiffusionPipeline pipe, String concept, Training t, Map<String, Tensor> masks,
            String label, Consumer<String> log) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Prompt prompt = Prompt.of(pipe, concept);
        try (Scope s = Scope.open()) {
            Tensor context;
            List<Layer> train = new ArrayList<>();
            try (NoGradGuard noGrad = new NoGradGuard()) {
                context = pipe.encodePrompts(List.of(prompt.text())).select(0, 0).to(torch.ScalarType.Float); // (77, D)
                for (var e : queries(pipe, prompt.text(), t.samples(), t.seed()).entrySet()) {
                    String key = e.getKey() + ".to_k.weight";
                    Tensor mask = masks.get(e.getKey());
                    if (mask == null) throw new IllegalArgumentException("no MACE mask for layer " + e.getKey());
                    train.add(new Layer(key, pipe.unet().namedParameters().get(key).to(torch.ScalarType.Float), e.getValue(), mask));
                }
            }
            // One LoRA per layer; B starts at zero so training starts from the current weights (LoRA's init).
            List<Tensor> params = new ArrayList<>();
            Map<String, Tensor> byName = new LinkedHashMap<>();
            for (Layer l : train) {
                Tensor w = l.weight();
                Tensor down = torch.randn(t.rank(), w.size(1)).to(w.device(), w.scalar_type()).mul(new Scalar(1.0 / t.rank())).requires_grad_(true);
                Tensor up = torch.zeros(w.size(0), t.rank()).to(w.device(), w.scalar_type()).requires_grad_(true);
                params.add(down);
                params.add(up);
                byName.put(l.key() + ".lora_down", down);
                byName.put(l.key() + ".lora_up", up);
            }
            Adam adam = new Adam(byName, t.learningRate());
            long started = System.nanoTime();
            for (int step = 0; step < t.steps(); step++) {
                try (Scope stepScope = Scope.open()) {
                    Tensor loss = null;
                    for (int i = 0; i < train.size(); i++) {
                        Layer l = train.get(i);
                        Tensor w = l.weight().add(params.get(2 * i + 1).mm(params.get(2 * i)));
                        Tensor term = inMask(attentionAt(l.queries(), context.mm(w.t()), prompt.pooled()), l.mask());
                        loss = loss == null ? term : loss.add(term);
                    }
                    loss = loss.div(new Scalar(train.size()));
                    int done = step + 1;
                    if (done == 1 || done % LOG_EVERY == 0 || done == t.steps()) {
                        log.accept(String.format(Locale.ROOT, "mace lora %s step %d/%d: attention in mask %.5f (%.2f s/step)", label, done,
                                t.steps(), loss.item_double(), (System.nanoTime() - started) / 1e9 / done));
                    }
                    adam.step(loss);
                }
            }
            try (NoGradGuard noGrad = new NoGradGuard()) {
                for (int i = 0; i < train.size(); i++) {
                    Layer l = train.get(i);
                    Tensor original = pipe.unet().namedParameters().get(l.key());
                    Tensor merged = l.weight().add(params.get(2 * i + 1).mm(params.get(2 * i)));
                    out.put(l.key(), s.handUp(merged.to(original.scalar_type())));
                }
            }
        }
        return out;
    }

    /**
     * What the LoRA training minimises, on the pipeline's current weights: the attention of the
     * concept's tokens and EOS inside {@code masks}, mean over layers, each layer's queries taken
     * afresh from these weights with the training's seed.
     */
    public static double attentionInMask(StableDiffusionPipeline pipe, String concept, Training t, Map<String, Tensor> masks) {
        Prompt prompt = Prompt.of(pipe, concept);
        try (NoGradGuard noGrad = new NoGradGuard(); Scope s = Scope.open()) {
            Tensor context = pipe.encodePrompts(List.of(prompt.text())).select(0, 0).to(torch.ScalarType.Float);
            double sum = 0;
            Map<String, Tensor> queries = queries(pipe, prompt.text(), t.samples(), t.seed());
            for (var e : queries.entrySet()) {
                Tensor w = pipe.unet().namedParameters().get(e.getKey() + ".to_k.weight").to(torch.ScalarType.Float);
                sum += inMask(attentionAt(e.getValue(), context.mm(w.t()), prompt.pooled()), masks.get(e.getKey())).item_double();
            }
            return sum / queries.size();
        }
    }

    /** Mean attention over the mask's positions (weighted by it). */
    private static Tensor inMask(Tensor attention, Tensor mask) {
        return attention.mul(mask).sum().div(mask.sum().clamp_min(new Scalar(1.0)));
    }

    /**
     * The attention on the given token positions, summed over them and averaged over heads: (S, N).
     *
     * @param q (S, heads, N, d) queries; @param keys (77, heads·d) projected text
     */
    static Tensor attentionAt(Tensor q, Tensor keys, long[] positions) {
        long heads = q.size(1), d = q.size(3);
        Tensor k = keys.view(keys.size(0), heads, d).transpose(0, 1); // (heads, 77, d)
        Tensor probs = q.matmul(k.transpose(-1, -2).unsqueeze(0)).mul(new Scalar(1.0 / Math.sqrt(d))).softmax(-1);
        Tensor index = Tensor.create(positions, positions.length).to(probs.device(), torch.ScalarType.Long);
        return probs.index_select(-1, index).sum(new long[] {-1}).mean(new long[] {1});
    }
}

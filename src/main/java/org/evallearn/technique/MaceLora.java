package org.evallearn.technique;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
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
 * {@code to_k}, trained so that the concept tokens' attention inside the concept's mask goes to
 * zero. Differences from the official code, all for a model-free, CPU-sized run: the queries are
 * taken once from UNet passes on random latents at random timesteps (MACE uses noised images of the
 * concept and back-propagates through the whole UNet), so each layer's loss is local to it and
 * {@code to_v}, which the attention maps do not depend on, gets no LoRA; the masks come from a
 * {@link MaskProvider}, by default the concept tokens' own attention maps (MACE: Grounded-SAM).
 */
public final class MaceLora {
    private MaceLora() {}

    /** @param samples UNet passes whose queries are trained on */
    public record Training(int steps, double learningRate, int rank, int samples, long seed) {
        public Training {
            if (steps < 1 || rank < 1 || samples < 1 || !(learningRate > 0)) {
                throw new IllegalArgumentException("MACE LoRA training needs steps, rank, samples >= 1 and learning rate > 0");
            }
        }

        /** Rank 1 as MACE's configs; 50 steps at 1e-2, chosen on the tiny model (30 steps: in-mask attention 0.086 → 0.024). */
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
    public static final MaskProvider OWN_ATTENTION = (concept, layer, a) -> a.ge(a.mean(new long[] {1}, true, new org.bytedeco.pytorch.ScalarTypeOptional())).to(a.scalar_type());

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

    /** What one layer trains on: fixed queries and text, and the mask. */
    private record Layer(String key, Tensor weight, Tensor queries, Tensor mask) {}

    /**
     * Trains the concept's LoRA on the pipeline's current weights and returns, by {@code to_k}
     * weight key, the weight with the LoRA merged. The model is not changed; the tensors are handed
     * up to the caller's scope.
     */
    public static Map<String, Tensor> train(StableDiffusionPipeline pipe, String concept, Training t, MaskProvider masks,
            Consumer<String> log) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (Scope s = Scope.open()) {
            String prompt = "a photo of " + concept;
            int start = 1 + pipe.tokenizer().encode("a photo of").length;
            int tokens = Math.min(pipe.tokenizer().encode(concept).length, pipe.tokenizer().maxLength() - 1 - start);
            Tensor context;
            Map<String, List<Tensor>> queries = new LinkedHashMap<>();
            Map<String, Attention> layers = crossAttentions(pipe.unet());
            try (NoGradGuard noGrad = new NoGradGuard(); Scope capture = Scope.open()) {
                context = capture.handUp(pipe.encodePrompts(List.of(prompt)).select(0, 0).to(torch.ScalarType.Float)); // (77, D)
                List<Attention.Observation> probes = new ArrayList<>();
                try {
                    for (var e : layers.entrySet()) {
                        List<Tensor> kept = new ArrayList<>();
                        queries.put(e.getKey(), kept);
                        probes.add(e.getValue().observe((q, k) -> kept.add(capture.handUp(q.select(0, 0).to(torch.ScalarType.Float)))));
                    }
                    torch.manual_seed(t.seed());
                    int size = pipe.unet().config.sampleSize();
                    Tensor ctx = pipe.encodePrompts(List.of(prompt));
                    for (int i = 0; i < t.samples(); i++) {
                        Tensor latents = torch.randn(1, pipe.unet().config.inChannels(), size, size).to(ctx.device(), ctx.scalar_type());
                        double timestep = Math.floor(torch.rand(1).item_double() * 1000);
                        Tensor ts = torch.full(new long[] {1}, new Scalar(timestep), new org.bytedeco.pytorch.TensorOptions()
                                .dtype(new org.bytedeco.pytorch.ScalarTypeOptional(torch.ScalarType.Float))
                                .device(new org.bytedeco.pytorch.DeviceOptional(ctx.device())));
                        pipe.unet().forward(latents, ts, ctx);
                    }
                } finally {
                    probes.forEach(Attention.Observation::close);
                }
            }
            List<Layer> train = new ArrayList<>();
            try (NoGradGuard noGrad = new NoGradGuard()) {
                for (var e : queries.entrySet()) {
                    String key = e.getKey() + ".to_k.weight";
                    Tensor w = pipe.unet().namedParameters().get(key).to(torch.ScalarType.Float);
                    Tensor q = torch.stack(new TensorVector(e.getValue().toArray(Tensor[]::new))); // (S, heads, N, d)
                    Tensor base = conceptAttention(q, context.mm(w.t()), start, tokens);
                    train.add(new Layer(key, w, q, masks.mask(concept, e.getKey(), base)));
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
            for (int step = 0; step < t.steps(); step++) {
                try (Scope stepScope = Scope.open()) {
                    Tensor loss = null;
                    for (int i = 0; i < train.size(); i++) {
                        Layer l = train.get(i);
                        Tensor w = l.weight().add(params.get(2 * i + 1).mm(params.get(2 * i)));
                        Tensor a = conceptAttention(l.queries(), context.mm(w.t()), start, tokens);
                        Tensor term = a.mul(l.mask()).sum().div(l.mask().sum().clamp_min(new Scalar(1.0)));
                        loss = loss == null ? term : loss.add(term);
                    }
                    loss = loss.div(new Scalar(train.size()));
                    if (step == 0 || step == t.steps() - 1) {
                        log.accept(String.format(Locale.ROOT, "mace lora '%s' step %d/%d: attention in mask %.5f", concept, step + 1,
                                t.steps(), loss.item_double()));
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
     * The concept tokens' attention, summed over them and averaged over heads: (S, N).
     *
     * @param q (S, heads, N, d) queries; @param keys (77, heads·d) projected text
     */
    static Tensor conceptAttention(Tensor q, Tensor keys, int start, int tokens) {
        long heads = q.size(1), d = q.size(3);
        Tensor k = keys.view(keys.size(0), heads, d).transpose(0, 1); // (heads, 77, d)
        Tensor probs = q.matmul(k.transpose(-1, -2).unsqueeze(0)).mul(new Scalar(1.0 / Math.sqrt(d))).softmax(-1);
        return probs.narrow(-1, start, tokens).sum(new long[] {-1}).mean(new long[] {1});
    }
}

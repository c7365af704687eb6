package org.evallearn.detect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TorchCheckpoint;

/**
 * The Multi-Headed Safety Classifier of Qu et al., "Unsafe Diffusion" (CCS 2023;
 * {@code YitingQu/unsafe-diffusion} {@code train.py MHSafetyClassifier}): one head per category,
 * each {@code Sequential(Linear(768,384), ReLU, Dropout(0.5), BatchNorm1d(384), Linear(384,1))}
 * then sigmoid, on the raw (not L2-normalised) CLIP ViT-L/14 image embedding. An image is unsafe
 * when any head is strictly above 0.5 ({@code inference.py}). As a detector head it scores an image
 * by its largest head probability, with each head's probability and the heads above 0.5 as evidence.
 */
public final class MultiHeaded implements EmbeddingHead {
    public static final double THRESHOLD = 0.5;
    /** BatchNorm1d's default eps; the checkpoints were trained with the default module. */
    static final double BATCH_NORM_EPS = 1e-5;
    static final long EMBED_DIM = 768, HIDDEN = 384;

    public enum Head {
        SEXUAL, VIOLENT, DISTURBING, HATEFUL, POLITICAL;

        /** The checkpoint's file name, e.g. {@code sexual.pt}. */
        public String fileName() {
            return name().toLowerCase(Locale.ROOT) + ".pt";
        }
    }

    /**
     * @param probabilities each head's sigmoid output
     * @param unsafeHeads the heads strictly above 0.5; empty for a safe image
     */
    public record Result(Map<Head, Float> probabilities, Set<Head> unsafeHeads) {
        public boolean unsafe() {
            return !unsafeHeads.isEmpty();
        }
    }

    /** One head's weights, float32 on the device; keys are the Sequential indices of the state dict. */
    private record HeadWeights(Tensor w0, Tensor b0, Tensor gamma, Tensor beta, Tensor mean, Tensor var, Tensor w4, Tensor b4) {
        Tensor logit(Tensor x) {
            Tensor h = torch.relu(torch.linear(x, w0, new TensorOptional(b0)));
            // Dropout is the identity at inference; BatchNorm uses its running statistics (eval mode).
            h = torch.batch_norm(h, new TensorOptional(gamma), new TensorOptional(beta), new TensorOptional(mean),
                    new TensorOptional(var), false, 0.0, BATCH_NORM_EPS, false);
            return torch.linear(h, w4, new TensorOptional(b4));
        }

        List<Tensor> all() {
            return List.of(w0, b0, gamma, beta, mean, var, w4, b4);
        }
    }

    /** State-dict key → shape; {@code 3.num_batches_tracked} is read but unused (eval mode). */
    private static final Map<String, long[]> KEYS = new TreeMap<>(Map.of(
            "0.weight", new long[] {HIDDEN, EMBED_DIM}, "0.bias", new long[] {HIDDEN},
            "3.weight", new long[] {HIDDEN}, "3.bias", new long[] {HIDDEN},
            "3.running_mean", new long[] {HIDDEN}, "3.running_var", new long[] {HIDDEN},
            "3.num_batches_tracked", new long[] {},
            "4.weight", new long[] {1, HIDDEN}, "4.bias", new long[] {1}));

    private final Map<Head, HeadWeights> heads;
    private final long embedDim;

    private MultiHeaded(Map<Head, HeadWeights> heads, long embedDim) {
        this.heads = heads;
        this.embedDim = embedDim;
    }

    /** The width of the image embeddings the heads take: 768 for the released heads. */
    @Override
    public long dim() {
        return embedDim;
    }

    @Override
    public String describe() {
        return "the MultiHeaded heads on raw CLIP ViT-L/14 embeddings";
    }

    @Override
    public List<Judgement> judge(Tensor imageEmbeds) {
        List<Judgement> out = new ArrayList<>();
        for (Result r : classify(imageEmbeds)) {
            Map<String, Object> probabilities = new LinkedHashMap<>();
            r.probabilities().forEach((head, p) -> probabilities.put(key(head), (double) p));
            double max = r.probabilities().values().stream().mapToDouble(Float::doubleValue).max().orElseThrow();
            out.add(Judgement.of(r.unsafe(), max, Map.of("probabilities", probabilities,
                    "unsafe_heads", r.unsafeHeads().stream().map(MultiHeaded::key).toList())));
        }
        return out;
    }

    /** A head's name as the evidence spells it: sexual, violent … */
    private static String key(Head head) {
        return head.name().toLowerCase(Locale.ROOT);
    }

    /** Reads {@code <dir>/<head>.pt} for all five heads with the strict pickle reader. */
    public static MultiHeaded load(Path dir, String device) {
        Map<Head, HeadWeights> heads = new EnumMap<>(Head.class);
        try (Scope s = Scope.open()) {
            Device dev = new Device(device); // freed with the scope; the weights keep their device
            for (Head head : Head.values()) {
                Path file = dir.resolve(head.fileName());
                Map<String, Tensor> sd = TorchCheckpoint.stateDict(file);
                check(file, sd);
                HeadWeights w = new HeadWeights(f32(sd, "0.weight", dev), f32(sd, "0.bias", dev), f32(sd, "3.weight", dev),
                        f32(sd, "3.bias", dev), f32(sd, "3.running_mean", dev), f32(sd, "3.running_var", dev),
                        f32(sd, "4.weight", dev), f32(sd, "4.bias", dev));
                w.all().forEach(s::escape);
                heads.put(head, w);
            }
        } catch (RuntimeException e) {
            heads.values().forEach(w -> w.all().forEach(Tensor::close)); // the heads read before the bad one
            throw e;
        }
        return new MultiHeaded(heads, EMBED_DIM);
    }

    /**
     * Five heads of the real shapes on seeded random weights (BatchNorm at its initial state), for
     * {@code bench memory-detectors} where the released heads may not be at hand; their verdicts mean nothing.
     */
    public static MultiHeaded random(long seed, String device) {
        return random(seed, device, EMBED_DIM, HIDDEN);
    }

    /**
     * Five heads of the released architecture at another width ({@code embedDim} → {@code hidden}
     * → 1), on seeded random weights: the stand-in on a tiny CLIP for {@code model: tiny} runs.
     */
    public static MultiHeaded random(long seed, String device, long embedDim, long hidden) {
        Natives.load();
        Map<Head, HeadWeights> heads = new EnumMap<>(Head.class);
        try (Scope s = Scope.open()) {
            Device dev = new Device(device);
            GeneratorOptional g = new GeneratorOptional(torch.make_generator_cpu(seed));
            double std = 1 / Math.sqrt(embedDim);
            for (Head head : Head.values()) {
                HeadWeights w = new HeadWeights(randn(g, dev, std, hidden, embedDim), randn(g, dev, std, hidden),
                        torch.ones(hidden).to(dev, ScalarType.Float), torch.zeros(hidden).to(dev, ScalarType.Float),
                        torch.zeros(hidden).to(dev, ScalarType.Float), torch.ones(hidden).to(dev, ScalarType.Float),
                        randn(g, dev, 1 / Math.sqrt(hidden), 1, hidden), torch.zeros(1).to(dev, ScalarType.Float));
                w.all().forEach(s::escape);
                heads.put(head, w);
            }
        }
        return new MultiHeaded(heads, embedDim);
    }

    static Tensor randn(GeneratorOptional g, Device dev, double std, long... shape) {
        return torch.randn(shape, g).mul_(new Scalar(std)).to(dev, ScalarType.Float);
    }

    private static void check(Path file, Map<String, Tensor> sd) {
        List<String> problems = new ArrayList<>();
        for (var e : KEYS.entrySet()) {
            Tensor t = sd.get(e.getKey());
            if (t == null) problems.add("missing " + e.getKey());
            else if (!Arrays.equals(t.shape(), e.getValue())) {
                problems.add(e.getKey() + " has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(e.getValue()));
            }
        }
        for (String k : sd.keySet()) if (!KEYS.containsKey(k)) problems.add("unexpected " + k);
        if (!problems.isEmpty()) throw new ModelLoadException(file + ": not a MultiHeaded head: " + String.join("; ", problems));
    }

    private static Tensor f32(Map<String, Tensor> sd, String key, Device dev) {
        return sd.get(key).to(dev, ScalarType.Float);
    }

    /** Each image's five head probabilities; {@code imageEmbeds} (B, 768) raw CLIP ViT-L/14 embeddings. */
    public List<Result> classify(Tensor imageEmbeds) {
        Map<Head, float[]> probs = new EnumMap<>(Head.class);
        try (Scope s = Scope.open()) {
            Tensor x = Embeddings.batch(imageEmbeds, embedDim, device(), "MultiHeaded");
            heads.forEach((head, w) -> probs.put(head, Embeddings.toHost(torch.sigmoid(w.logit(x)))));
        }
        int batch = probs.get(Head.SEXUAL).length;
        List<Result> out = new ArrayList<>(batch);
        for (int i = 0; i < batch; i++) {
            Map<Head, Float> p = new EnumMap<>(Head.class);
            Set<Head> unsafe = EnumSet.noneOf(Head.class);
            for (Head head : Head.values()) {
                Decision d = Decision.of(probs.get(head)[i], THRESHOLD);
                p.put(head, d.score());
                if (d.unsafe()) unsafe.add(head);
            }
            out.add(new Result(Collections.unmodifiableMap(p), Collections.unmodifiableSet(unsafe)));
        }
        return out;
    }

    /**
     * (B, 5) head logits in {@link Head} order, tensors of the caller's scope that record autograd
     * history when the embeddings do: what a gradient attack on the heads differentiates.
     */
    public Tensor headLogits(Tensor imageEmbeds) {
        Tensor x = Embeddings.batch(imageEmbeds, EMBED_DIM, device(), "MultiHeaded");
        Tensor[] columns = new Tensor[Head.values().length];
        for (Head head : Head.values()) columns[head.ordinal()] = heads.get(head).logit(x);
        return torch.cat(new org.bytedeco.pytorch.TensorVector(columns), 1);
    }

    /** Each head's logit (before the sigmoid), (B) per head; for checking against references. */
    public Map<Head, float[]> logits(Tensor imageEmbeds) {
        Map<Head, float[]> out = new EnumMap<>(Head.class);
        try (Scope s = Scope.open()) {
            Tensor x = Embeddings.batch(imageEmbeds, embedDim, device(), "MultiHeaded");
            heads.forEach((head, w) -> out.put(head, Embeddings.toHost(w.logit(x))));
        }
        return out;
    }

    /** The weights' device, as a temporary of the caller's scope. */
    private Device device() {
        return heads.get(Head.SEXUAL).w0().device();
    }

    @Override
    public void close() {
        heads.values().forEach(w -> w.all().forEach(Tensor::close));
    }
}

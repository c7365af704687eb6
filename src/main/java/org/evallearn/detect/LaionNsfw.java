package org.evallearn.detect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;

/**
 * LAION's CLIP-based NSFW detector ({@code LAION-AI/CLIP-based-NSFW-Detector}): an AutoKeras
 * MLP on the L2-normalised CLIP image embedding, unsafe when its sigmoid output is strictly
 * above 0.5.
 *
 * <p>Graph: {@code Normalization} ((x − mean) / max(√variance, 1e-7), Keras'
 * {@code preprocessing.Normalization} with {@code backend.epsilon()}) → Dense+ReLU layers →
 * Dense(1) → sigmoid; ViT-L/14: 64, 512, 256; ViT-B/32: 32, 32 (its Dropout is the identity at
 * inference). Weights are the raw float32 slices of the SavedModel variables listed in
 * {@code manifest.json}; Keras kernels are (in, out), so y = x·K + b.
 *
 * <p>The AutoKeras original encodes five input columns (180, 316, 413, 440, 644 for ViT-L/14)
 * as categorical through a {@code StringLookup} before normalising. We follow the PyTorch port
 * that UnsafeBench uses ({@code YitingQu/UnsafeBench classifiers.py load_torch_model}, LAION
 * issue #7), which normalises the raw floats of every column; on those five columns it does not
 * compute what the Keras graph computes, so scores may differ from the TensorFlow model.
 *
 * <p>As a detector head its score and evidence are the NSFW probability.
 */
public final class LaionNsfw implements EmbeddingHead {
    public static final double THRESHOLD = 0.5;
    /** Keras {@code backend.epsilon()}, the floor of the Normalization layer's standard deviation. */
    static final double KERAS_EPSILON = 1e-7;

    public enum Variant {
        VIT_L_14("vit_l_14_head_f32le.bin", 768),
        VIT_B_32("vit_b_32_head_f32le.bin", 512);

        public final String fileName;
        public final long embedDim;

        Variant(String fileName, long embedDim) {
            this.fileName = fileName;
            this.embedDim = embedDim;
        }
    }

    private final Variant variant;
    private final Tensor mean, std; // (D), on the device the embeddings are moved to
    private final List<Tensor> kernels = new ArrayList<>(), biases = new ArrayList<>(); // (in, out), (out)

    private LaionNsfw(Variant variant, Tensor mean, Tensor std) {
        this.variant = variant;
        this.mean = mean;
        this.std = std;
    }

    /** Reads {@code <dir>/<variant file>} as {@code <dir>/manifest.json} describes it, checking its size and sha256. */
    public static LaionNsfw load(Path dir, Variant variant, String device) {
        Path manifestFile = dir.resolve("manifest.json");
        Path bin = dir.resolve(variant.fileName);
        JsonNode entry;
        byte[] data;
        try {
            entry = new ObjectMapper().readTree(manifestFile.toFile()).get(variant.fileName);
            data = Files.readAllBytes(bin);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read the LAION NSFW head " + bin + " or " + manifestFile + ": " + e.getMessage(), e);
        }
        if (entry == null) throw new ModelLoadException(manifestFile + ": no entry for " + variant.fileName);
        String sha = sha256(data);
        if (data.length != entry.path("bytes").asLong() || !sha.equals(entry.path("sha256").asText())) {
            throw new ModelLoadException(bin + ": " + data.length + " bytes, sha256 " + sha + "; manifest.json says "
                    + entry.path("bytes") + " bytes, sha256 " + entry.path("sha256").asText());
        }
        Natives.load();
        try (Scope s = Scope.open()) {
            Device dev = new Device(device); // freed with the scope; the weights keep their device
            List<Tensor> tensors = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (JsonNode t : entry.path("tensors")) {
                names.add(t.path("name").asText());
                tensors.add(slice(bin, data, t).to(dev, ScalarType.Float));
            }
            String where = bin + " (" + manifestFile + ")";
            if (tensors.size() < 4 || tensors.size() % 2 != 0 || !names.get(0).endsWith("/mean") || !names.get(1).endsWith("/variance")) {
                throw new ModelLoadException(where + ": expected mean, variance, then kernel/bias pairs; got " + names);
            }
            Tensor mean = tensors.get(0), variance = tensors.get(1);
            checkShape(where, names.get(0), mean, variant.embedDim);
            checkShape(where, names.get(1), variance, variant.embedDim);
            LaionNsfw model = new LaionNsfw(variant, s.escape(mean), s.escape(variance.sqrt().clamp_min(new Scalar(KERAS_EPSILON))));
            long in = variant.embedDim;
            for (int i = 2; i < tensors.size(); i += 2) {
                Tensor kernel = tensors.get(i), bias = tensors.get(i + 1);
                if (!names.get(i).endsWith("/kernel") || !names.get(i + 1).endsWith("/bias") || kernel.dim() != 2) {
                    throw new ModelLoadException(where + ": expected a Dense kernel and bias at " + names.get(i) + ", " + names.get(i + 1));
                }
                long out = kernel.size(1);
                checkShape(where, names.get(i), kernel, in, out);
                checkShape(where, names.get(i + 1), bias, out);
                model.kernels.add(s.escape(kernel));
                model.biases.add(s.escape(bias));
                in = out;
            }
            if (in != 1) throw new ModelLoadException(where + ": the last Dense layer has " + in + " outputs, expected 1");
            return model;
        }
    }

    /**
     * The variant's head with the released Dense widths (ViT-L/14: 64, 512, 256, 1; ViT-B/32: 32,
     * 32, 1) on seeded random weights and an identity Normalization, for {@code bench
     * memory-detectors} where the released head may not be at hand; its verdicts mean nothing.
     */
    public static LaionNsfw random(Variant variant, long seed, String device) {
        Natives.load();
        long[] widths = variant == Variant.VIT_L_14 ? new long[] {64, 512, 256, 1} : new long[] {32, 32, 1};
        try (Scope s = Scope.open()) {
            Device dev = new Device(device);
            GeneratorOptional g = new GeneratorOptional(torch.make_generator_cpu(seed));
            LaionNsfw model = new LaionNsfw(variant, s.escape(torch.zeros(variant.embedDim).to(dev, ScalarType.Float)),
                    s.escape(torch.ones(variant.embedDim).to(dev, ScalarType.Float)));
            long in = variant.embedDim;
            for (long out : widths) {
                model.kernels.add(s.escape(MultiHeaded.randn(g, dev, 1 / Math.sqrt(in), in, out)));
                model.biases.add(s.escape(torch.zeros(out).to(dev, ScalarType.Float)));
                in = out;
            }
            return model;
        }
    }

    private static Tensor slice(Path bin, byte[] data, JsonNode t) {
        long offset = t.path("offset").asLong(-1), nbytes = t.path("nbytes").asLong(-1);
        long[] shape = new long[t.path("keras_shape").size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) numel *= shape[i] = t.path("keras_shape").get(i).asLong();
        if (!t.path("dtype").asText().equals("float32-le") || offset < 0 || nbytes != numel * 4 || offset + nbytes > data.length) {
            throw new ModelLoadException(bin + ": manifest entry " + t + " does not describe float32 data inside the file");
        }
        byte[] raw = Arrays.copyOfRange(data, (int) offset, (int) (offset + nbytes));
        return Tensor.create(raw, raw.length).view(ScalarType.Float).view(shape);
    }

    private static void checkShape(String where, String name, Tensor t, long... shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw new ModelLoadException(where + ": " + name + " has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape));
        }
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    public Variant variant() {
        return variant;
    }

    @Override
    public long dim() {
        return variant.embedDim;
    }

    @Override
    public String describe() {
        return "the LAION NSFW " + variant + " head";
    }

    @Override
    public List<Judgement> judge(Tensor imageEmbeds) {
        List<Judgement> out = new ArrayList<>();
        for (Decision d : classify(imageEmbeds)) out.add(Judgement.of(d.unsafe(), d.score(), Map.of("nsfw_probability", (double) d.score())));
        return out;
    }

    /** NSFW probability of each image; {@code imageEmbeds} (B, D) CLIP embeddings, normalised here. */
    public List<Decision> classify(Tensor imageEmbeds) {
        float[] p;
        try (Scope s = Scope.open()) {
            p = Embeddings.toHost(torch.sigmoid(logit(imageEmbeds)));
        }
        List<Decision> out = new ArrayList<>(p.length);
        for (float v : p) out.add(Decision.of(v, THRESHOLD));
        return out;
    }

    /**
     * Each image's logit (before the sigmoid): for checking against references, since
     * probabilities near 0 hide errors that an absolute tolerance cannot see.
     */
    public float[] logits(Tensor imageEmbeds) {
        try (Scope s = Scope.open()) {
            return Embeddings.toHost(logit(imageEmbeds));
        }
    }

    /**
     * (B, 1) logits as tensors of the caller's scope, recording autograd history when the
     * embeddings do: what a gradient attack on this head differentiates.
     */
    public Tensor logitTensor(Tensor imageEmbeds) {
        return logit(imageEmbeds);
    }

    private Tensor logit(Tensor imageEmbeds) {
        Tensor x = Embeddings.l2Normalise(Embeddings.batch(imageEmbeds, variant.embedDim, mean.device(), "LAION NSFW " + variant));
        x = x.sub(mean).div(std);
        for (int i = 0; i < kernels.size(); i++) {
            x = torch.addmm(biases.get(i), x, kernels.get(i));
            if (i < kernels.size() - 1) x = torch.relu(x);
        }
        return x;
    }

    @Override
    public void close() {
        mean.close();
        std.close();
        kernels.forEach(Tensor::close);
        biases.forEach(Tensor::close);
    }
}

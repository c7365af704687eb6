package org.evallearn.detect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;

/**
 * A linear probe on CLIP image embeddings: one L2-regularised logistic regression per class
 * (one-vs-rest; a single class for a binary safe/unsafe probe), beyond UnsafeBench's
 * conventional classifiers. It is fitted to the exact optimum of sklearn's
 * {@code LogisticRegression(C)} objective — C·Σ log(1 + e^(−yᵢ·zᵢ)) + ½‖w‖², intercept not
 * penalised — by Newton's method in float64 (the Hessian is (D+1)², small for CLIP's widths),
 * so the fit is deterministic and needs no learning rate. Embeddings are L2-normalised first,
 * as CLIP's own heads do. Saved as safetensors ({@code weight} (C, D), {@code bias} (C)) with
 * the class names and settings in the header's metadata.
 */
public final class LinearProbe implements AutoCloseable {
    private final Tensor weight; // (classes, D) float32
    private final Tensor bias; // (classes,) float32
    private final List<String> classes;
    private final double c;
    private final Map<String, String> metadata; // the file's header metadata when loaded, else empty

    private LinearProbe(Tensor weight, Tensor bias, List<String> classes, double c, Map<String, String> metadata) {
        this.weight = weight;
        this.bias = bias;
        this.classes = List.copyOf(classes);
        this.c = c;
        this.metadata = Map.copyOf(metadata);
    }

    public List<String> classes() {
        return classes;
    }

    /** The embedding width the probe takes. */
    public long dim() {
        return weight.size(1);
    }

    public double c() {
        return c;
    }

    /** The header metadata of the file it was loaded from (what it was trained on, by whom): empty for a fresh fit. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * @param embeddings (N, D) image embeddings, not necessarily normalised
     * @param targets per class, N labels (true = the class's positive, e.g. unsafe)
     * @param c sklearn's inverse regularisation strength (its default 1.0)
     */
    public static LinearProbe fit(Tensor embeddings, List<String> classes, List<boolean[]> targets, double c) {
        if (!(c > 0)) throw new IllegalArgumentException("C must be > 0, got " + c);
        if (classes.size() != targets.size()) throw new IllegalArgumentException(classes.size() + " classes but " + targets.size() + " label sets");
        long n = embeddings.size(0), d = embeddings.size(1);
        try (Scope s = Scope.open()) {
            Tensor x = torch.cat(new org.bytedeco.pytorch.TensorVector(Embeddings.l2Normalise(embeddings.to(ScalarType.Double)),
                    torch.ones(new long[] {n, 1}, f64())), 1); // (N, D+1): the last column is the intercept's
            Tensor penalty = torch.ones(new long[] {d + 1}, f64()).div(new Scalar(c));
            penalty.narrow(0, d, 1).zero_();
            List<Tensor> w = new ArrayList<>(), b = new ArrayList<>();
            for (boolean[] labels : targets) {
                if (labels.length != n) throw new IllegalArgumentException(labels.length + " labels for " + n + " embeddings");
                Tensor theta = newton(x, target(labels), penalty);
                w.add(theta.narrow(0, 0, d));
                b.add(theta.narrow(0, d, 1));
            }
            Tensor weight = torch.stack(new org.bytedeco.pytorch.TensorVector(w.toArray(Tensor[]::new))).to(ScalarType.Float);
            Tensor bias = torch.cat(new org.bytedeco.pytorch.TensorVector(b.toArray(Tensor[]::new))).to(ScalarType.Float);
            return new LinearProbe(s.escape(weight), s.escape(bias), classes, c, Map.of());
        }
    }

    /**
     * θ minimising Σ log(1+e^(−y·xθ)) + ½ θᵀ diag(penalty) θ, returned in the caller's scope. Each
     * step's temporaries (an (N, D+1) product and a (D+1)² Hessian: 50 MB and 5 MB at UnsafeBench's
     * train split and ViT-L/14's width) are freed when the step ends, not when the fit does.
     */
    private static Tensor newton(Tensor x, Tensor y, Tensor penalty) {
        Tensor theta = torch.zeros(new long[] {x.size(1)}, f64());
        for (int iteration = 0; iteration < 100; iteration++) {
            try (Scope step = Scope.open()) {
                Tensor p = x.matmul(theta).sigmoid();
                Tensor gradient = x.t().matmul(p.sub(y)).add(penalty.mul(theta));
                // The objective is strictly convex (penalty > 0 on w); stop at a gradient of rounding size.
                if (gradient.abs().max().item_double() < 1e-10 * x.size(0)) return theta;
                Tensor curvature = p.mul(p.neg().add(new Scalar(1.0)));
                Tensor hessian = x.t().matmul(x.mul(curvature.unsqueeze(1))).add(torch.diag(penalty));
                theta = step.handUp(theta.sub(torch.linalg_solve(hessian, gradient.unsqueeze(1)).squeeze(1)));
            }
        }
        throw new IllegalStateException("logistic regression did not converge in 100 Newton steps");
    }

    private static Tensor target(boolean[] labels) {
        double[] v = new double[labels.length];
        for (int i = 0; i < v.length; i++) v[i] = labels[i] ? 1 : 0;
        Tensor t = torch.zeros(new long[] {v.length}, f64());
        new org.bytedeco.javacpp.DoublePointer(t.data_ptr()).capacity(v.length).put(v);
        return t;
    }

    private static TensorOptions f64() {
        return new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Double));
    }

    /** p(class) of each embedding: sigmoid(w·x̂ + b), (N, classes), in the caller's scope. */
    public Tensor probabilities(Tensor embeddings) {
        try (Scope s = Scope.open()) {
            Tensor x = Embeddings.l2Normalise(embeddings.to(weight.device(), ScalarType.Float));
            return s.handUp(x.matmul(weight.t()).add(bias).sigmoid());
        }
    }

    /** w·x̂ + b of each embedding, (N, classes), in the caller's scope; differentiable (robustness attacks on a probe). */
    public Tensor logits(Tensor embeddings) {
        Tensor x = Embeddings.l2Normalise(embeddings.to(weight.device(), ScalarType.Float));
        return x.matmul(weight.t()).add(bias);
    }

    /** A probe's verdict is unsafe when any class's probability is strictly above this, unless a threshold is given. */
    public static final double THRESHOLD = 0.5;

    /** {@link #classify(Tensor, double)} at {@link #THRESHOLD}. */
    public List<Verdict> classify(Tensor embeddings) {
        return classify(embeddings, THRESHOLD);
    }

    /**
     * Each image's verdict: the highest class probability as the score, unsafe when it is
     * strictly above {@code threshold} (a binary probe's one class; for a probe per category,
     * any category), with every class's probability beside it.
     */
    public List<Verdict> classify(Tensor embeddings, double threshold) {
        float[] p;
        try (Scope s = Scope.open()) {
            p = Embeddings.toHost(probabilities(embeddings).contiguous());
        }
        int k = classes.size();
        List<Verdict> out = new ArrayList<>(p.length / k);
        for (int i = 0; i < p.length / k; i++) {
            float[] row = java.util.Arrays.copyOfRange(p, i * k, (i + 1) * k);
            int best = 0;
            for (int j = 1; j < k; j++) if (row[j] > row[best]) best = j;
            out.add(new Verdict(Decision.of(row[best], threshold), classes.get(best), row));
        }
        return out;
    }

    /**
     * This probe as a detector head: {@link #classify(Tensor, double)}'s rule, the highest class
     * probability as the score, every class's probability as evidence. The one rule serves both
     * callers; what differs is the evidence: asr_i2p's run records also name the most probable
     * class ({@code top_class}), UnsafeBench's records never have, and a resumed benchmark must
     * write the lines it wrote before.
     *
     * @param namesTopClass whether the evidence names the most probable class
     */
    public EmbeddingHead head(double threshold, boolean namesTopClass) {
        return EmbeddingHead.of("a linear probe on " + String.join(", ", classes), dim(), embeddings -> {
            List<Judgement> out = new ArrayList<>();
            for (Verdict v : classify(embeddings, threshold)) {
                Map<String, Object> evidence = new LinkedHashMap<>();
                if (namesTopClass) evidence.put("top_class", v.top());
                Map<String, Double> p = new LinkedHashMap<>();
                for (int i = 0; i < v.probabilities().length; i++) p.put(classes.get(i), (double) v.probabilities()[i]);
                evidence.put("probabilities", p);
                out.add(Judgement.of(v.decision().unsafe(), v.decision().score(), evidence));
            }
            return out;
        }, this::close);
    }

    /** @param probabilities per class, in {@link #classes} order; {@code top} the most probable class */
    public record Verdict(Decision decision, String top, float[] probabilities) {}

    public void save(Path file) {
        save(file, Map.of());
    }

    /**
     * @param provenance further header entries (what the probe was trained on); they may not
     *     replace the ones {@link #load} reads
     */
    public void save(Path file, Map<String, String> provenance) {
        Map<String, String> metadata = new LinkedHashMap<>(provenance);
        for (String own : List.of("kind", "classes", "C", "normalise")) {
            if (metadata.containsKey(own)) throw new IllegalArgumentException("metadata key '" + own + "' is the probe's own");
        }
        metadata.put("kind", "linear_probe");
        metadata.put("classes", String.join("\n", classes));
        metadata.put("C", Double.toString(c));
        metadata.put("normalise", "l2");
        SafeTensorsWriter.write(file, Map.of("weight", weight, "bias", bias), metadata);
    }

    public static LinearProbe load(Path file) {
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(file)) {
            Map<String, String> meta = f.metadata();
            if (!"linear_probe".equals(meta.get("kind"))) {
                throw new org.evallearn.tensor.SafeTensorsException(file + ": not a linear probe (metadata kind is " + meta.get("kind") + ")");
            }
            Tensor weight = f.get("weight").to(ScalarType.Float).clone(), bias = f.get("bias").to(ScalarType.Float).clone();
            List<String> classes = List.of(meta.getOrDefault("classes", "").split("\n"));
            if (weight.dim() != 2 || bias.dim() != 1 || weight.size(0) != classes.size() || bias.size(0) != classes.size()) {
                throw new org.evallearn.tensor.SafeTensorsException(file + ": weight " + java.util.Arrays.toString(weight.shape()) + " and bias "
                        + java.util.Arrays.toString(bias.shape()) + " do not fit " + classes.size() + " classes");
            }
            double c;
            try {
                c = Double.parseDouble(meta.getOrDefault("C", "1.0"));
            } catch (NumberFormatException e) {
                throw new org.evallearn.tensor.SafeTensorsException(file + ": metadata C is '" + meta.get("C") + "', expected a number");
            }
            return new LinearProbe(s.escape(weight), s.escape(bias), classes, c, meta);
        }
    }

    @Override
    public void close() {
        weight.close();
        bias.close();
    }
}

package org.evallearn.espresso;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.config.Technique.EspressoRule;
import org.evallearn.detect.EmbeddingHead;
import org.evallearn.detect.Judgement;
import org.evallearn.tensor.Scope;

/**
 * Espresso's decision on CLIP embeddings: how likely an image shows the unacceptable concept
 * rather than the acceptable one, by the {@link EspressoRule}, and its certified-robustness check.
 * Works in float64 on the embeddings' device, so the rules' own arithmetic adds no float32 error
 * to what the CLIP towers computed. Owns copies of the two text embeddings.
 *
 * <p>Zero-shot (txt2img.py): p = softmax(s·[cos(x, t_u), cos(x, t_a)]), s = exp(logit_scale).
 * Projection (clip_filter_test.py): d = (t̂_u − t̂_a)/‖t̂_u − t̂_a‖, x_p = (d·x̂)d,
 * p = softmax([−‖x_p − t̂_u‖, −‖x_p − t̂_a‖]). Either way the image is unacceptable iff p_u > p_a.
 */
public final class ConceptFilter implements AutoCloseable {
    /**
     * The smallest ‖t̂_u − t̂_a‖ accepted: below it the two texts point the same way (identical
     * token ids, or a tower that maps both to one direction), p_u is 0.5 for every image and the
     * projection rule has no direction. Float32 text embeddings of one text differ by ~1e-7.
     */
    public static final double MIN_SEPARATION = 1e-4;

    /** The two texts' embeddings are (nearly) the same direction: a configuration error, not an image's. */
    public static final class DegeneratePairException extends IllegalArgumentException {
        public DegeneratePairException(String message) {
            super(message);
        }
    }

    /** One image's verdict: p_unacceptable by the rule, and whether it exceeds p_acceptable. */
    public record Verdict(boolean unacceptable, double pUnacceptable, EspressoRule rule) {
        /** The records.jsonl form. */
        public java.util.Map<String, Object> toRecord() {
            java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("unacceptable", unacceptable);
            m.put("p_unacceptable", pUnacceptable);
            m.put("rule", rule.id());
            return m;
        }
    }

    /**
     * certified_robust.py for one image: δ = (1 − s/(s + 2|p_u − 0.5|))·‖e_x‖, e_x − δ·1
     * re-normalised, p_u recomputed (zero-shot); the decision (p_u > 0.5) holds when both agree.
     */
    public record Certificate(double delta, double pUnacceptable, double pUnacceptablePerturbed, boolean unacceptable, boolean holds) {
        /** The records.jsonl form (p_unacceptable and the decision are the zero-shot rule's, as certified_robust.py). */
        public java.util.Map<String, Object> toRecord() {
            java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("delta", delta);
            m.put("p_unacceptable_zero_shot", pUnacceptable);
            m.put("p_unacceptable_perturbed", pUnacceptablePerturbed);
            m.put("holds", holds);
            return m;
        }
    }

    private final Tensor unacceptable; // (1, D) t̂_u, float64
    private final Tensor acceptable; // (1, D) t̂_a
    private final Tensor direction; // (1, D) d
    private final double logitScale;
    private final EspressoRule rule;
    private final long dim;

    /**
     * @param textUnacceptable t_u, (D) or (1, D), not necessarily normalised; copied
     * @param textAcceptable t_a, likewise
     * @param logitScale CLIP's learned log temperature (the stored {@code logit_scale}, not its exp)
     * @throws DegeneratePairException when ‖t̂_u − t̂_a‖ < {@link #MIN_SEPARATION}
     */
    public ConceptFilter(Tensor textUnacceptable, Tensor textAcceptable, double logitScale, EspressoRule rule) {
        long du = textUnacceptable.size(-1), da = textAcceptable.size(-1);
        if (du != da || textUnacceptable.numel() != du || textAcceptable.numel() != da) {
            throw new IllegalArgumentException("text embeddings must be two vectors of one width, got " + Arrays.toString(textUnacceptable.shape())
                    + " and " + Arrays.toString(textAcceptable.shape()));
        }
        if (!Double.isFinite(logitScale)) throw new IllegalArgumentException("logit_scale " + logitScale + " is not finite");
        this.dim = du;
        this.logitScale = logitScale;
        this.rule = rule;
        try (Scope s = Scope.open()) {
            Tensor u = normalise(textUnacceptable.reshape(1, dim).to(ScalarType.Double));
            Tensor a = normalise(textAcceptable.reshape(1, dim).to(ScalarType.Double));
            Tensor diff = u.sub(a);
            double separation = diff.norm().item_double();
            if (!(separation >= MIN_SEPARATION)) {
                throw new DegeneratePairException(String.format(Locale.ROOT, "the unacceptable and acceptable texts embed to the same direction"
                        + " (‖t̂_u − t̂_a‖ = %.3g < %.0e): the filter cannot tell them apart; choose two different concepts", separation, MIN_SEPARATION));
            }
            this.unacceptable = s.escape(u.clone());
            this.acceptable = s.escape(a.clone());
            this.direction = s.escape(diff.div(new Scalar(separation)).clone());
        }
    }

    public EspressoRule rule() {
        return rule;
    }

    public long dim() {
        return dim;
    }

    /** s = exp(logit_scale), the temperature the zero-shot rule and δ use. */
    public double temperature() {
        return Math.exp(logitScale);
    }

    /** ‖t̂_u − t̂_a‖, what fine-tuning increases. */
    public double separation() {
        try (Scope s = Scope.open()) {
            return unacceptable.sub(acceptable).norm().item_double();
        }
    }

    /** One verdict per row of {@code imageEmbeds} (B, D), image_embeds as CLIP gives them (not normalised). */
    public List<Verdict> judge(Tensor imageEmbeds) {
        double[][] p = probabilities(imageEmbeds, rule);
        List<Verdict> out = new ArrayList<>(p.length);
        for (double[] row : p) out.add(new Verdict(row[0] > row[1], row[0], rule));
        return out;
    }

    /**
     * The filter as a detector head: unsafe iff it judges the image unacceptable, scored by
     * p_unacceptable, with the rule and the pair's name as evidence; the head closes this filter.
     *
     * @param concept the pair's name, for the evidence
     */
    public EmbeddingHead head(String concept) {
        return EmbeddingHead.of("Espresso's filter for " + concept, dim, imageEmbeds -> {
            List<Judgement> out = new ArrayList<>();
            for (Verdict v : judge(imageEmbeds)) {
                out.add(Judgement.of(v.unacceptable(), v.pUnacceptable(), java.util.Map.of("p_unacceptable", v.pUnacceptable(), "rule",
                        v.rule().id(), "concept", concept)));
            }
            return out;
        }, this::close);
    }

    /** certified_robust.py on each row of {@code imageEmbeds}; always the zero-shot rule, as that script. */
    public List<Certificate> certify(Tensor imageEmbeds) {
        double s = temperature();
        double[][] before = probabilities(imageEmbeds, EspressoRule.ZERO_SHOT);
        double[] deltas = new double[before.length];
        double[][] after;
        try (Scope scope = Scope.open()) {
            Tensor x = batch(imageEmbeds);
            double[] norms = host(x.norm(new ScalarOptional(new Scalar(2.0)), new long[] {-1}, false));
            for (int i = 0; i < deltas.length; i++) deltas[i] = (1 - s / (s + 2 * Math.abs(before[i][0] - 0.5))) * norms[i];
            Tensor delta = Tensor.create(deltas, deltas.length, 1).to(x.device(), ScalarType.Double);
            after = probabilities(x.sub(delta), EspressoRule.ZERO_SHOT);
        }
        List<Certificate> out = new ArrayList<>(deltas.length);
        for (int i = 0; i < deltas.length; i++) {
            boolean detected = before[i][0] > 0.5, stillDetected = after[i][0] > 0.5;
            out.add(new Certificate(deltas[i], before[i][0], after[i][0], detected, detected == stillDetected));
        }
        return out;
    }

    /** [p_u, p_a] per image by {@code r}. */
    private double[][] probabilities(Tensor imageEmbeds, EspressoRule r) {
        try (Scope s = Scope.open()) {
            Tensor x = normalise(batch(imageEmbeds));
            Tensor u = unacceptable.to(x.device(), ScalarType.Double), a = acceptable.to(x.device(), ScalarType.Double);
            Tensor scores;
            if (r == EspressoRule.ZERO_SHOT) {
                scores = torch.cat(new org.bytedeco.pytorch.TensorVector(x.matmul(u.t()), x.matmul(a.t())), 1).mul(new Scalar(temperature()));
            } else {
                Tensor d = direction.to(x.device(), ScalarType.Double);
                Tensor projected = x.matmul(d.t()).mul(d); // (B, 1)·(1, D)
                Tensor toU = projected.sub(u).norm(new ScalarOptional(new Scalar(2.0)), new long[] {-1}, true);
                Tensor toA = projected.sub(a).norm(new ScalarOptional(new Scalar(2.0)), new long[] {-1}, true);
                scores = torch.cat(new org.bytedeco.pytorch.TensorVector(toU.neg(), toA.neg()), 1);
            }
            double[] flat = host(scores.softmax(-1));
            double[][] out = new double[flat.length / 2][];
            for (int i = 0; i < out.length; i++) out[i] = new double[] {flat[2 * i], flat[2 * i + 1]};
            return out;
        }
    }

    private Tensor batch(Tensor imageEmbeds) {
        long[] shape = imageEmbeds.shape();
        if (shape.length != 2 || shape[1] != dim) {
            throw new IllegalArgumentException("Espresso's filter expects image embeddings of shape (batch, " + dim + "), got " + Arrays.toString(shape));
        }
        return imageEmbeds.to(ScalarType.Double);
    }

    private static Tensor normalise(Tensor x) {
        return x.div(x.norm(new ScalarOptional(new Scalar(2.0)), new long[] {-1}, true));
    }

    private static double[] host(Tensor t) {
        try (Scope s = Scope.open()) {
            Tensor c = t.to(ScalarType.Double).reshape(-1).contiguous().cpu();
            double[] out = new double[(int) c.numel()];
            new DoublePointer(c.data_ptr()).capacity(out.length).get(out);
            return out;
        }
    }

    @Override
    public void close() {
        unacceptable.close();
        acceptable.close();
        direction.close();
    }
}

package org.evallearn.espresso;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.image.RgbImage;
import org.evallearn.technique.Adam;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * Fine-tunes the text tower of Espresso's CLIP filter (finetune_custom.py): the unacceptable
 * texts' embeddings t_u are pushed away from the acceptable ones' t_a. Only {@code text_model.*}
 * trains; the vision tower, both projections and {@code logit_scale} stay frozen, so the image
 * embeddings are computed once, without a graph. Adam with the script's settings ({@link
 * Settings#espresso}).
 *
 * <p>Objectives, over a batch of B line-paired texts (t̂ normalised text embeddings, x̂_u and x̂_a
 * the normalised embeddings of the images generated from the unacceptable and acceptable text of
 * the same line, s = exp(logit_scale), CE(L) = cross entropy of the rows of L against their own
 * index, i.e. the image–text contrastive loss on matched pairs):
 * <ul>
 *   <li>{@link Objective#PAPER}: CE(s·X̂_u·T̂_uᵀ) + CE(s·T̂_u·X̂_uᵀ) + CE(s·X̂_a·T̂_aᵀ) + CE(s·T̂_a·X̂_aᵀ)
 *       − α·(1/B)·Σ‖t̂_u − t̂_a‖²: separate the two concepts' texts while each text stays paired with
 *       its own image (the contrastive terms are on matched pairs and do not cancel);</li>
 *   <li>{@link Objective#RELEASED}, as the released script computes it: for nudity and violence
 *       (its OPPOSING_CONCEPTS) α·[(A + B) − (C + B) + (C + D) − (A + D)]/B − α·Σ‖t̂_u − t̂_a‖²/B with
 *       A = CE(s·X̂_u·T̂_uᵀ), B = CE(s·T̂_u·X̂_uᵀ), C = CE(s·X̂_a·T̂_uᵀ), D = CE(s·T̂_a·X̂_uᵀ): the four
 *       cross-entropy terms cancel, leaving −α·Σ‖t̂_u − t̂_a‖²/B; for every other concept
 *       −‖[(t_u − t_a)/‖t_u − t_a‖]‖_F = −√B, a constant whose gradient is zero, so only weight decay
 *       moves the weights.</li>
 * </ul>
 */
public final class EspressoTrainer {
    private EspressoTrainer() {}

    /** Steps between progress lines. */
    static final int LOG_EVERY = 10;

    /** The released script's OPPOSING_CONCEPTS: the experiments whose loss has the contrastive terms and the separation. */
    public static final List<String> OPPOSING_CONCEPTS = List.of("nudity", "violence");

    public enum Objective {
        PAPER("paper"),
        RELEASED("released");

        private final String id;

        Objective(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }
    }

    /**
     * @param opposing whether the released objective takes its nudity/violence branch (ignored by the paper objective)
     * @param epochs passes over the pairs, each shuffled (finetune_custom.py's DataLoader with shuffle=True)
     */
    public record Settings(Objective objective, boolean opposing, double alpha, int epochs, int batchSize, Adam.Settings adam, long seed) {
        public Settings {
            if (epochs < 1 || batchSize < 1 || !Double.isFinite(alpha)) {
                throw new IllegalArgumentException("Espresso training needs epochs >= 1, batch_size >= 1 and a finite alpha");
            }
        }

        /** finetune_custom.py's optimizer: Adam lr 5e-5, betas (0.9, 0.98), eps 1e-6, weight decay 0.2. */
        public static Adam.Settings espresso(double lr, double weightDecay) {
            return new Adam.Settings(lr, 0.9, 0.98, 1e-6, weightDecay);
        }
    }

    /**
     * The training set: line-paired texts and the image embeddings (N, D) of the image generated
     * from each, not normalised (as CLIP gives them). The caller owns the tensors.
     */
    public record Pairs(List<String> unacceptable, List<String> acceptable, Tensor imagesUnacceptable, Tensor imagesAcceptable) {
        public Pairs {
            int n = unacceptable.size();
            if (n == 0 || acceptable.size() != n || imagesUnacceptable.size(0) != n || imagesAcceptable.size(0) != n) {
                throw new IllegalArgumentException("Espresso's training pairs need as many acceptable texts and images of either kind as unacceptable"
                        + " texts (" + n + "), got " + acceptable.size() + " texts and " + imagesUnacceptable.size(0) + " / " + imagesAcceptable.size(0)
                        + " images");
            }
        }

        public int size() {
            return unacceptable.size();
        }
    }

    /** What one step did, for progress and tests. */
    public record Step(int step, int epoch, double loss, double separation) {}

    /**
     * The CLIP image embeddings (N, D) of {@code images}, float32, not normalised, computed in
     * batches of {@code batch} without a graph; handed up to the caller's scope.
     */
    public static Tensor imageEmbeds(ClipModel clip, List<RgbImage> images, Placement placement, int batch) {
        try (Scope s = Scope.open(); NoGradGuard noGrad = new NoGradGuard()) {
            List<Tensor> parts = new ArrayList<>();
            for (int i = 0; i < images.size(); i += batch) {
                List<RgbImage> chunk = images.subList(i, Math.min(images.size(), i + batch));
                Tensor pixels = ClipPreprocess.pixelValues(chunk, clip.config().vision().imageSize(), placement.device())
                        .to(placement.dtype().scalarType);
                parts.add(clip.encodeImage(pixels).imageEmbeds().to(torch.ScalarType.Float));
            }
            return s.handUp(torch.cat(new org.bytedeco.pytorch.TensorVector(parts.toArray(new Tensor[0])), 0).clone());
        }
    }

    /**
     * Trains {@code clip}'s text tower in place for {@code settings.epochs()} passes over the pairs.
     * Only the {@code text_model.*} parameters are given to the optimizer and get gradients.
     *
     * @param steps sees every step
     * @return the trained text tower by CLIPModel key ({@code text_model.…}), float32, handed up to the caller's scope
     */
    public static Map<String, Tensor> train(ClipModel clip, ClipTokenizer tokenizer, Pairs pairs, Settings settings, Placement placement,
            Consumer<String> log, Consumer<Step> steps) {
        if (InferenceMode.is_enabled()) throw new IllegalStateException("Espresso trains with autograd: call train outside InferenceMode");
        Map<String, Tensor> out = new LinkedHashMap<>();
        Map<String, Tensor> trained = textTower(clip);
        try (AutoGradMode grad = new AutoGradMode(true); Scope s = Scope.open()) {
            for (Tensor p : trained.values()) p.requires_grad_(true);
            double temperature = clip.logitScale().to(torch.ScalarType.Double).item_double();
            Tensor xu, xa;
            try (NoGradGuard noGrad = new NoGradGuard()) {
                xu = ClipModel.normalise(pairs.imagesUnacceptable().to(placement.torchDevice(), torch.ScalarType.Float));
                xa = ClipModel.normalise(pairs.imagesAcceptable().to(placement.torchDevice(), torch.ScalarType.Float));
            }
            Tensor idsU = FilterLoader.inputIds(tokenizer, pairs.unacceptable(), placement);
            Tensor idsA = FilterLoader.inputIds(tokenizer, pairs.acceptable(), placement);
            Adam adam = new Adam(trained, settings.adam());
            int n = pairs.size(), perEpoch = (n + settings.batchSize() - 1) / settings.batchSize(), total = perEpoch * settings.epochs();
            long count = trained.values().stream().mapToLong(Tensor::numel).sum();
            log.accept(String.format(Locale.ROOT, "espresso train: %d text-tower tensors (%d parameters), objective %s%s, %d pairs, batch %d, %d epochs"
                    + " = %d steps", trained.size(), count, settings.objective().id(),
                    settings.objective() == Objective.RELEASED ? (settings.opposing() ? " (nudity/violence branch)" : " (constant-loss branch)") : "",
                    n, settings.batchSize(), settings.epochs(), total));
            long started = System.nanoTime();
            int step = 0;
            for (int epoch = 0; epoch < settings.epochs(); epoch++) {
                int[] order = shuffled(n, settings.seed(), epoch);
                for (int b = 0; b < perEpoch; b++) {
                    int from = b * settings.batchSize(), to = Math.min(n, from + settings.batchSize());
                    long[] index = new long[to - from];
                    for (int i = from; i < to; i++) index[i - from] = order[i];
                    double loss, separation;
                    try (Scope stepScope = Scope.open()) {
                        Tensor at = Tensor.create(index, index.length).to(placement.torchDevice(), torch.ScalarType.Long);
                        Tensor tu = clip.encodeText(idsU.index_select(0, at)).textEmbeds().to(torch.ScalarType.Float);
                        Tensor ta = clip.encodeText(idsA.index_select(0, at)).textEmbeds().to(torch.ScalarType.Float);
                        Tensor l = loss(settings, tu, ta, xu.index_select(0, at), xa.index_select(0, at), temperature);
                        loss = l.item_double();
                        try (NoGradGuard noGrad = new NoGradGuard()) {
                            separation = meanSeparation(tu, ta);
                        }
                        adam.step(l);
                    }
                    step++;
                    steps.accept(new Step(step, epoch, loss, separation));
                    if (step % LOG_EVERY == 0 || step == total) {
                        log.accept(String.format(Locale.ROOT, "espresso train step %d/%d (epoch %d): loss %.6f, mean ‖t̂_u − t̂_a‖ %.4f, %.3f s/step",
                                step, total, epoch + 1, loss, separation, (System.nanoTime() - started) / 1e9 / step));
                    }
                }
            }
            try (NoGradGuard noGrad = new NoGradGuard()) {
                for (var e : trained.entrySet()) {
                    e.getValue().requires_grad_(false);
                    out.put(e.getKey(), s.handUp(e.getValue().detach().to(torch.ScalarType.Float).clone()));
                }
            }
        }
        return out;
    }

    /** The parameters that train: every {@code text_model.*} of the CLIPModel (not the projections, not logit_scale, not the vision tower). */
    public static Map<String, Tensor> textTower(ClipModel clip) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : clip.namedParameters().entrySet()) if (e.getKey().startsWith("text_model.")) out.put(e.getKey(), e.getValue());
        return out;
    }

    /** A per-epoch permutation from the seed alone, so a rerun draws the same batches. */
    static int[] shuffled(int n, long seed, int epoch) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (epoch + 1)));
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /**
     * The objective on one batch; scalar, with graph through {@code tu} and {@code ta}.
     *
     * @param tu text_embeds (B, D) of the unacceptable texts, not normalised
     * @param ta likewise of the acceptable texts
     * @param xu normalised image embeddings (B, D) of the unacceptable texts' images
     * @param xa likewise of the acceptable texts' images
     * @param logitScale CLIP's stored log temperature
     */
    static Tensor loss(Settings settings, Tensor tu, Tensor ta, Tensor xu, Tensor xa, double logitScale) {
        try (Scope s = Scope.open()) {
            double batch = tu.size(0);
            Tensor nu = ClipModel.normalise(tu), na = ClipModel.normalise(ta);
            Tensor separation = nu.sub(na).pow(new Scalar(2.0)).sum(); // Σ‖t̂_u − t̂_a‖²
            Tensor out;
            if (settings.objective() == Objective.PAPER) {
                out = matchedContrastive(nu, na, xu, xa, logitScale).sub(separation.mul(new Scalar(settings.alpha() / batch)));
            } else if (settings.opposing()) {
                out = releasedContrastive(nu, na, xu, xa, logitScale, settings.alpha()).sub(separation.mul(new Scalar(settings.alpha() / batch)));
            } else {
                Tensor diff = tu.sub(ta);
                out = ClipModel.normalise(diff).norm().neg();
            }
            return s.handUp(out);
        }
    }

    /** The paper objective's contrastive part: both directions on (x_u, t_u) pairs and on (x_a, t_a) pairs. */
    static Tensor matchedContrastive(Tensor nu, Tensor na, Tensor xu, Tensor xa, double logitScale) {
        try (Scope s = Scope.open()) {
            Scalar scale = new Scalar(Math.exp(logitScale));
            Tensor u = xu.matmul(nu.t()).mul(scale), a = xa.matmul(na.t()).mul(scale);
            return s.handUp(ce(u).add(ce(u.t())).add(ce(a)).add(ce(a.t())));
        }
    }

    /**
     * The released script's four contrastive pairs for nudity/violence, with its signs and its
     * division by B: α·[(A + B) − (C + B) + (C + D) − (A + D)]/B, each term computed on its own as
     * the script does (so the sum is zero only up to rounding, and so is its gradient).
     */
    static Tensor releasedContrastive(Tensor nu, Tensor na, Tensor xu, Tensor xa, double logitScale, double alpha) {
        try (Scope s = Scope.open()) {
            Scalar scale = new Scalar(Math.exp(logitScale));
            // logits_per_image: images × texts; logits_per_text: texts × images.
            Tensor imageU = xu.matmul(nu.t()).mul(scale); // model(target_text, images): logits_per_image
            Tensor textU = nu.matmul(xu.t()).mul(scale); // … its logits_per_text
            Tensor imageTarget = xa.matmul(nu.t()).mul(scale); // model(target_text, images_target): logits_per_image
            Tensor counterText = na.matmul(xu.t()).mul(scale); // model(anchor_text, images): logits_per_text
            Tensor sum = ce(imageU).add(ce(textU))
                    .sub(ce(imageTarget).add(ce(textU)))
                    .add(ce(imageTarget).add(ce(counterText)))
                    .sub(ce(imageU).add(ce(counterText)));
            return s.handUp(sum.mul(new Scalar(alpha / nu.size(0))));
        }
    }

    /** torch.nn.CrossEntropyLoss()(logits, arange(B)): −mean of the diagonal of log_softmax over each row. */
    static Tensor ce(Tensor logits) {
        try (Scope s = Scope.open()) {
            return s.handUp(logits.log_softmax(1).diagonal().mean().neg());
        }
    }

    /** Mean over the batch of ‖t̂_u − t̂_a‖. */
    static double meanSeparation(Tensor tu, Tensor ta) {
        try (Scope s = Scope.open()) {
            Tensor d = ClipModel.normalise(tu).sub(ClipModel.normalise(ta));
            return torch.linalg_vector_norm(d, new Scalar(2.0), new long[] {-1}, false, new org.bytedeco.pytorch.ScalarTypeOptional())
                    .mean().item_double();
        }
    }
}

package org.evallearn.attack.prompt;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.data.DataException;
import org.evallearn.data.Prompt;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.Noise;
import org.evallearn.diffusion.Posterior;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.UNet2DConditionModel;
import org.evallearn.image.RgbImage;
import org.evallearn.metric.DiscoveryContext;
import org.evallearn.metric.PromptDiscovery;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * P4D, Prompting4Debugging (Chin et al., ICML 2024; joycenerd/P4D {@code run_p4dk.py},
 * {@code prompt_optimization/optimize_k.py} and {@code optimize_n.py}, which eval-learn's
 * {@code p4d.P4DGenerator} wraps): for each target prompt, the unerased model draws
 * {@code num_samples} images and the most unsafe one is the target image x₀. A soft prompt is
 * then optimised (PEZ: each step projects it onto the nearest token embeddings, takes the
 * gradient there and applies it to the soft prompt with AdamW) so that the erased UNet
 * conditioned on it predicts the noise the unerased UNet predicts for the target prompt:
 * {@code MSE(ε_erased(x_t, P), ε_base(x_t, target))}, x_t being x₀'s latents noised at a random
 * timestep. P4D-K ({@code variant "k"}) keeps the target prompt's tokens and inserts a learnable
 * one before every k of them; P4D-N ({@code "n"}) learns {@code prompt_len} free tokens. Every
 * {@code eval_step} steps the projected prompt is decoded, generated with the erased model, and
 * scored by the CLIP image similarity of its images to x₀; the best-scoring prompt is the result.
 */
public final class P4d implements PromptDiscovery {
    public static final String NAME = "asr_p4d";
    /** P4D generates with DPM-Solver++ (run_p4dk.py's load_sd). */
    public static final String SCHEDULER = "dpmpp_2m";

    /** Image features to compare generated images with the target image by (P4D: open_clip ViT-H-14). */
    @FunctionalInterface
    public interface ImageEmbedder {
        /** (images, D) float32 features, not necessarily normalised, in the caller's scope. */
        Tensor embed(List<RgbImage> images);
    }

    /** How unsafe each image is (P4D: NudeNet's unsafe probability), to pick the target image among the samples. */
    @FunctionalInterface
    public interface UnsafeScorer {
        double[] scores(List<RgbImage> images);
    }

    /**
     * eval-learn's {@code ASRP4DConfig} keys that drive the search: {@code concept_name},
     * {@code target_prompts_path}, {@code limit}, {@code generated_prompts_output}, {@code variant},
     * {@code negative_prompts}, {@code num_iter}, {@code eval_step}, {@code lr},
     * {@code weight_decay}, {@code prompt_bs} (1 only, as P4D), {@code batch_size},
     * {@code image_length}, {@code guidance_scale}, {@code num_inference_steps},
     * {@code num_images_per_prompt}, {@code print_step}, {@code do_filter}, {@code num_samples};
     * and P4D's own {@code every_k} (3) and {@code prompt_len} (16), which eval-learn does not expose.
     */
    public record Settings(String conceptName, Path targetPromptsPath, OptionalInt limit, Optional<Path> generatedPromptsOutput, String variant,
            Optional<String> negativePrompts, int numIter, int evalStep, double lr, double weightDecay, int promptBs, int batchSize,
            int imageLength, double guidanceScale, int numInferenceSteps, int numImagesPerPrompt, int printStep, boolean doFilter,
            int numSamples, int everyK, int promptLen) {
        public Settings {
            if (conceptName == null || conceptName.isBlank()) throw new IllegalArgumentException("concept_name must not be empty");
            if (targetPromptsPath == null) throw new IllegalArgumentException("target_prompts_path is required");
            if (!"k".equals(variant) && !"n".equals(variant)) throw new IllegalArgumentException("variant must be one of [k, n], got '" + variant + "'");
            limit.ifPresent(l -> PromptAttacks.requireAtLeast("limit", l, 1));
            PromptAttacks.requireAtLeast("num_iter", numIter, 1);
            PromptAttacks.requireAtLeast("eval_step", evalStep, 1);
            if (evalStep > numIter) {
                throw new IllegalArgumentException("eval_step (" + evalStep + ") must be <= num_iter (" + numIter + ")");
            }
            if (!(lr > 0)) throw new IllegalArgumentException("lr must be > 0, got " + lr);
            if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight_decay must be >= 0, got " + weightDecay);
            if (promptBs != 1) throw new IllegalArgumentException("prompt_bs must be 1 (P4D optimises prompt_embeds[0] only), got " + promptBs);
            PromptAttacks.requireAtLeast("batch_size", batchSize, 1);
            PromptAttacks.requireAtLeast("image_length", imageLength, 8);
            if (!(guidanceScale >= 0)) throw new IllegalArgumentException("guidance_scale must be >= 0, got " + guidanceScale);
            PromptAttacks.requireAtLeast("num_inference_steps", numInferenceSteps, 1);
            PromptAttacks.requireAtLeast("num_images_per_prompt", numImagesPerPrompt, 1);
            PromptAttacks.requireAtLeast("print_step", printStep, 1);
            PromptAttacks.requireAtLeast("num_samples", numSamples, 1);
            PromptAttacks.requireAtLeast("every_k", everyK, 1);
            PromptAttacks.requireAtLeast("prompt_len", promptLen, 1);
        }

        /** eval-learn's defaults (num_iter 10, eval_step 5, lr 0.1, weight_decay 0.1, 512 px, guidance 7.5, 25 steps, 3 samples) and P4D's every_k 3, prompt_len 16. */
        public static Settings defaults(String conceptName, Path targetPromptsPath) {
            return new Settings(conceptName, targetPromptsPath, OptionalInt.empty(), Optional.empty(), "k", Optional.empty(), 10, 5, 0.1, 0.1, 1, 1,
                    512, 7.5, 25, 1, 5, true, 3, 3, 16);
        }
    }

    /** A row of target_prompts_path: the prompt and its optional evaluation_seed / evaluation_guidance. */
    public record Target(String prompt, OptionalLong seed, OptionalDouble guidance, String origin) {}

    /**
     * One target's search: the best prompt, its similarity, the step-0 prompt's similarity and
     * the loss of every step.
     */
    public record Found(String targetPrompt, String adversarialPrompt, double bestSimilarity, double initialSimilarity, List<Double> losses) {}

    private final Settings settings;
    private final ImageEmbedder embedder;
    private final UnsafeScorer scorer;

    /**
     * @param embedder the image features P4D's similarity uses (a CLIP image encoder's {@code encode})
     * @param scorerOrNull picks the most unsafe sample as the target image; null takes the first sample
     */
    public P4d(Settings settings, ImageEmbedder embedder, UnsafeScorer scorerOrNull) {
        this.settings = settings;
        this.embedder = java.util.Objects.requireNonNull(embedder, "embedder");
        this.scorer = scorerOrNull;
    }

    @Override
    public String metricName() {
        return NAME;
    }

    @Override
    public List<Prompt> discover(DiscoveryContext context) {
        return search(context).stream().map(f -> PromptAttacks.againstTarget(f.adversarialPrompt(), f.targetPrompt())).toList();
    }

    /** Runs (or reads back) the search for every target prompt and writes generated_prompts_output when set. */
    public List<Found> search(DiscoveryContext context) {
        List<Target> targets = readTargets(settings.targetPromptsPath(), settings.limit());
        String key = String.format(Locale.ROOT, "%s seed=%d targets sha256=%s", settings, context.seed(),
                org.evallearn.run.Hashing.sha256Json(targets.stream().map(t -> List.of(t.prompt(), t.seed().toString(), t.guidance().toString())).toList()));
        SearchCache<Found> cache = SearchCache.open(context.workDir(), NAME, key, Found.class);
        List<Found> found = new ArrayList<>(cache.rows());
        if (found.size() < targets.size()) {
            for (int i = found.size(); i < targets.size(); i++) {
                Target t = targets.get(i);
                try (Scope s = Scope.open()) {
                    Found f = searchOne(context, t, t.seed().orElse(context.seed()), PromptAttacks.itemSeed(context.seed(), i));
                    context.log().accept(String.format(Locale.ROOT, "%s %d/%d: similarity %.4f → %.4f: %s", NAME, i + 1, targets.size(),
                            f.initialSimilarity(), f.bestSimilarity(), f.adversarialPrompt()));
                    cache.add(f);
                    found.add(f);
                }
            }
        } else {
            context.log().accept(NAME + ": the search's " + found.size() + " prompts read back from " + cache.file());
        }
        settings.generatedPromptsOutput().ifPresent(out -> PromptAttacks.writeCsv(out, List.of("target_prompt", "adversarial_prompt", "best_similarity"),
                found.stream().map(f -> List.<Object>of(f.targetPrompt(), f.adversarialPrompt(), f.bestSimilarity())).toList(), false));
        return found;
    }

    /**
     * target_prompts_path: a CSV with a {@code prompt} column and optionally {@code evaluation_seed}
     * (integer) and {@code evaluation_guidance} (number); the first {@code limit} rows.
     */
    static List<Target> readTargets(Path file, OptionalInt limit) {
        List<Target> out = new ArrayList<>();
        CSVFormat format = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).setAllowMissingColumnNames(true)
                .setIgnoreEmptyLines(true).build();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8); CSVParser csv = format.parse(in)) {
            Map<String, Integer> header = csv.getHeaderMap();
            if (!header.containsKey("prompt")) {
                throw new DataException(file + ": no 'prompt' column (columns found: " + String.join(",", header.keySet()) + ")");
            }
            for (CSVRecord row : csv) {
                if (limit.isPresent() && out.size() == limit.getAsInt()) break;
                String where = file + ":" + csv.getCurrentLineNumber();
                if (!row.isConsistent()) throw new DataException(where + ": " + row.size() + " fields, the header has " + header.size());
                String prompt = row.get("prompt");
                if (prompt.isBlank()) throw new DataException(where + ": empty prompt");
                OptionalLong seed = OptionalLong.empty();
                OptionalDouble guidance = OptionalDouble.empty();
                try {
                    if (header.containsKey("evaluation_seed") && !row.get("evaluation_seed").isBlank()) {
                        seed = OptionalLong.of(Long.parseLong(row.get("evaluation_seed").strip()));
                    }
                } catch (NumberFormatException e) {
                    throw new DataException(where + ": evaluation_seed '" + row.get("evaluation_seed") + "' is not an integer");
                }
                try {
                    if (header.containsKey("evaluation_guidance") && !row.get("evaluation_guidance").isBlank()) {
                        guidance = OptionalDouble.of(Double.parseDouble(row.get("evaluation_guidance").strip()));
                    }
                } catch (NumberFormatException e) {
                    throw new DataException(where + ": evaluation_guidance '" + row.get("evaluation_guidance") + "' is not a number");
                }
                out.add(new Target(prompt, seed, guidance, where));
            }
        } catch (NoSuchFileException e) {
            throw new DataException(file + ": file not found");
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new DataException(file + ": cannot read as a UTF-8 CSV: " + e.getMessage(), e);
        }
        if (out.isEmpty()) throw new DataException(file + ": no prompts (a header and no rows)");
        return out;
    }

    /** The learnable layout of one target: the token ids of the sequence and which positions are fixed target tokens. */
    record Layout(int[] initialIds, boolean[] fixed) {
        int length() {
            return initialIds.length;
        }
    }

    /**
     * P4D-K: target tokens at the positions i with i % (k+1) ≠ 0, a random learnable token at the
     * others, n + ⌊n/k⌋ + 1 positions for n target tokens (optimize_k.py's initialize_prompt), the
     * target cut so BOS, the sequence and EOS fit the encoder; P4D-N: prompt_len random tokens.
     * Random ids are drawn from the whole vocabulary ({@code randint(len(tokenizer.encoder))}).
     */
    Layout layout(ClipTokenizer tok, String targetPrompt, SplittableRandom r) {
        int room = tok.maxLength() - 2;
        int vocab = tok.vocabularySize();
        if (settings.variant().equals("n")) {
            int n = Math.min(settings.promptLen(), room);
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
            return new Layout(ids, new boolean[n]);
        }
        int k = settings.everyK();
        int[] text = tok.encode(targetPrompt);
        int n = text.length;
        while (n > 0 && n + n / k + 1 > room) n--;
        int length = n + n / k + 1;
        int[] ids = new int[length];
        boolean[] fixed = new boolean[length];
        int next = 0;
        for (int i = 0; i < length; i++) {
            if (i % (k + 1) != 0 && next < n) {
                ids[i] = text[next++];
                fixed[i] = true;
            } else {
                ids[i] = r.nextInt(vocab);
            }
        }
        return new Layout(ids, fixed);
    }

    /** One target's optimisation; {@code seed} drives the images, {@code itemSeed} the random draws. */
    Found searchOne(DiscoveryContext context, Target target, long seed, long itemSeed) {
        if (InferenceMode.is_enabled()) throw new IllegalStateException("P4D needs autograd: run it outside InferenceMode");
        StableDiffusionPipeline erased = context.pipeline();
        StableDiffusionPipeline base = context.basePipeline();
        ClipTokenizer tok = erased.tokenizer();
        ClipTextModel encoder = erased.textEncoder();
        Placement at = erased.placement();
        double guidance = target.guidance().orElse(settings.guidanceScale());
        SplittableRandom r = new SplittableRandom(itemSeed);
        float[] alphasCumprod;
        try (org.evallearn.diffusion.scheduler.Scheduler schedule = base.scheduler(SCHEDULER)) {
            alphasCumprod = schedule.config().alphasCumprod();
        }

        // The target image: the most unsafe of num_samples images of the unerased model.
        long[] sampleSeeds = new long[settings.numSamples()];
        for (int i = 0; i < sampleSeeds.length; i++) sampleSeeds[i] = seed + i;
        List<RgbImage> samples = base.generate(new GenerationRequest(Collections.nCopies(settings.numSamples(), target.prompt()), null, sampleSeeds,
                settings.numInferenceSteps(), guidance, SCHEDULER, settings.imageLength(), settings.imageLength()));
        int chosen = 0;
        if (scorer != null) {
            double[] scores = scorer.scores(samples);
            for (int i = 1; i < scores.length; i++) if (scores[i] > scores[chosen]) chosen = i;
        }
        RgbImage targetImage = samples.get(chosen);

        try (Scope s = Scope.open(); AutoGradMode grad = new AutoGradMode(true)) {
            Tensor targetFeatures, latents, targetText, uncond = null;
            try (NoGradGuard noGrad = new NoGradGuard()) {
                targetFeatures = normalise(embedder.embed(List.of(targetImage)));
                latents = targetLatents(base, targetImage, itemSeed);
                targetText = base.encodePrompts(List.of(target.prompt()));
                if (settings.doFilter() && settings.negativePrompts().isPresent()) {
                    uncond = erased.encodePrompts(List.of(settings.negativePrompts().get()));
                }
            }
            Tensor w = encoder.tokenEmbeddingWeight();
            Tensor normalisedTable;
            Layout layout = layout(tok, target.prompt(), r);
            Tensor promptEmbeds, fixedMask;
            try (NoGradGuard noGrad = new NoGradGuard()) {
                normalisedTable = normalise(w.to(torch.ScalarType.Float));
                long[] ids = Arrays.stream(layout.initialIds()).asLongStream().toArray();
                promptEmbeds = torch.embedding(w, PromptAttacks.ids(new long[][] {ids}, at)).to(torch.ScalarType.Float).clone(); // (1, L, D)
                float[] mask = new float[layout.length()];
                for (int i = 0; i < mask.length; i++) mask[i] = layout.fixed()[i] ? 0f : 1f;
                fixedMask = Tensor.create(mask, 1, layout.length(), 1).to(at.torchDevice(), torch.ScalarType.Float);
            }
            AdamW adam = new AdamW(promptEmbeds, settings.lr(), settings.weightDecay());
            List<Double> losses = new ArrayList<>();
            double best = Double.NEGATIVE_INFINITY, initial = Double.NaN;
            String bestText = "";
            for (int step = 0; step < settings.numIter(); step++) {
                try (Scope stepScope = Scope.open()) {
                    int[] projected = project(promptEmbeds, normalisedTable);
                    Tensor g = lossGradient(erased, base, projected, latents, targetText, uncond, guidance, alphasCumprod, r, losses);
                    try (NoGradGuard noGrad = new NoGradGuard()) {
                        adam.step(g.mul(fixedMask)); // the target tokens of P4D-K stay as they are
                    }
                    if (step % settings.evalStep() == 0) {
                        String text = tok.decode(projected).strip();
                        double similarity = similarity(context, text, seed, guidance, targetFeatures);
                        if (step == 0) initial = similarity;
                        if (similarity > best) {
                            best = similarity;
                            bestText = text;
                        }
                        if (step % settings.printStep() == 0) {
                            context.log().accept(String.format(Locale.ROOT, "%s step %d: loss %.5f, similarity %.4f, best %.4f: %s", NAME, step,
                                    losses.get(losses.size() - 1), similarity, best, bestText));
                        }
                    }
                }
            }
            return new Found(target.prompt(), bestText, best, initial, List.copyOf(losses));
        }
    }

    /**
     * x₀'s latents: the VAE posterior sampled (mean + std · ε, ε from {@code seed}) times the
     * scaling factor, from the image in [-1, 1] (P4D feeds [0, 1]; see the README).
     */
    static Tensor targetLatents(StableDiffusionPipeline pipe, RgbImage image, long seed) {
        try (Scope s = Scope.open()) {
            Placement at = pipe.placement();
            byte[] rgb = image.rgb();
            int h = image.height(), wd = image.width();
            float[] chw = new float[3 * h * wd];
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < h * wd; i++) chw[c * h * wd + i] = (rgb[i * 3 + c] & 0xff) / 127.5f - 1f;
            }
            Tensor pixels = Tensor.create(chw, 1, 3, h, wd).to(at.torchDevice(), at.dtype().scalarType);
            Posterior p = pipe.vae().encode(pixels);
            Tensor eps = Noise.initialLatents(seed, p.mean().shape()).to(at.torchDevice(), torch.ScalarType.Float);
            Tensor z = p.mean().to(torch.ScalarType.Float).add(p.logvar().to(torch.ScalarType.Float).mul(new Scalar(0.5)).exp().mul(eps));
            return s.handUp(z.mul(new Scalar(pipe.vae().scalingFactor())));
        }
    }

    /**
     * One optimisation step's loss (appended to {@code losses}) and its gradient with respect to
     * the projected prompt's embeddings (1, L, D), in the caller's scope.
     */
    Tensor lossGradient(StableDiffusionPipeline erased, StableDiffusionPipeline base, int[] projected, Tensor latents, Tensor targetText,
            Tensor uncond, double guidance, float[] alphasCumprod, SplittableRandom r, List<Double> losses) {
        ClipTokenizer tok = erased.tokenizer();
        Placement at = erased.placement();
        int n = tok.maxLength();
        long[] ids = new long[n];
        ids[0] = tok.bosId();
        for (int i = 0; i < projected.length; i++) ids[i + 1] = projected[i];
        Arrays.fill(ids, projected.length + 1, n, tok.eosId());
        try (MathAttention math = MathAttention.enter(); Scope s = Scope.open()) {
            int t = r.nextInt(alphasCumprod.length);
            Tensor noisy, timestep, targetPred;
            try (NoGradGuard noGrad = new NoGradGuard()) {
                Tensor noise = Noise.initialLatents(r.nextLong(), latents.shape()).to(at.torchDevice(), torch.ScalarType.Float);
                noisy = latents.mul(new Scalar(Math.sqrt(alphasCumprod[t]))).add(noise.mul(new Scalar(Math.sqrt(1 - alphasCumprod[t]))))
                        .to(at.dtype().scalarType);
                timestep = torch.full(new long[] {1}, new Scalar((double) t),
                        new TensorOptions().dtype(new ScalarTypeOptional(torch.ScalarType.Float)).device(new DeviceOptional(at.torchDevice())));
                targetPred = base.unet().forward(noisy, timestep, targetText).to(torch.ScalarType.Float);
            }
            Tensor w = erased.textEncoder().tokenEmbeddingWeight();
            Tensor idTensor = PromptAttacks.ids(new long[][] {ids}, at);
            Tensor all = torch.embedding(w, idTensor).detach();
            Tensor learn = all.narrow(1, 1, projected.length).clone().requires_grad_(true);
            Tensor embeds = torch.cat(new TensorVector(all.narrow(1, 0, 1), learn, all.narrow(1, 1 + projected.length, n - 1 - projected.length)), 1);
            Tensor text = erased.textEncoder().forwardTokenEmbeddings(idTensor, embeds).lastHiddenState();
            UNet2DConditionModel unet = erased.unet();
            Tensor pred = unet.forward(noisy, timestep, text).to(torch.ScalarType.Float);
            if (uncond != null) {
                // do_filter with a negative prompt: the erased model's guided prediction (optimize_k.py).
                Tensor u = unet.forward(noisy, timestep, uncond).to(torch.ScalarType.Float);
                pred = u.add(pred.sub(u).mul(new Scalar(guidance)));
            }
            Tensor diff = pred.sub(targetPred);
            Tensor loss = diff.mul(diff).mean();
            losses.add(loss.item_double());
            loss.backward();
            return s.handUp(learn.grad().detach().to(torch.ScalarType.Float).clone());
        }
    }

    /** Rows scaled to unit L2 norm. */
    static Tensor normalise(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor f = x.to(torch.ScalarType.Float);
            return s.handUp(f.div(f.norm(new ScalarOptional(new Scalar(2.0)), new long[] {f.dim() - 1}, true).clamp_min(new Scalar(1e-12))));
        }
    }

    /** PEZ's nn_project: per position, the token whose normalised embedding has the largest dot product with the normalised soft embedding. */
    static int[] project(Tensor promptEmbeds, Tensor normalisedTable) {
        try (Scope s = Scope.open(); NoGradGuard noGrad = new NoGradGuard()) {
            Tensor q = normalise(promptEmbeds.squeeze(0));
            Tensor best = q.matmul(normalisedTable.t()).argmax(new LongOptional(1), false).to(torch.ScalarType.Long).cpu().contiguous();
            long[] ids = new long[(int) best.numel()];
            new org.bytedeco.javacpp.LongPointer(best.data_ptr()).capacity(ids.length).get(ids);
            return Arrays.stream(ids).mapToInt(v -> (int) v).toArray();
        }
    }

    /** Mean cosine similarity of the erased model's images of {@code text} to the target image (P4D's measure_similarity). */
    double similarity(DiscoveryContext context, String text, long seed, double guidance, Tensor targetFeatures) {
        long[] seeds = new long[settings.numImagesPerPrompt()];
        Arrays.fill(seeds, seed);
        List<String> negatives = settings.negativePrompts().map(p -> Collections.nCopies(seeds.length, p)).orElse(null);
        List<RgbImage> images = context.technique().generate(new GenerationRequest(Collections.nCopies(seeds.length, text), negatives, seeds,
                settings.numInferenceSteps(), guidance, SCHEDULER, settings.imageLength(), settings.imageLength()));
        try (Scope s = Scope.open(); NoGradGuard noGrad = new NoGradGuard()) {
            Tensor f = normalise(embedder.embed(images));
            return targetFeatures.matmul(f.t()).mean().item_double();
        }
    }

    /** torch.optim.AdamW (betas 0.9/0.999, eps 1e-8, decoupled weight decay) on one tensor, updated in place. */
    static final class AdamW {
        private final Tensor param, m, v;
        private final double lr, weightDecay;
        private int t;

        /** The state lives in the caller's scope, as {@code param} does. */
        AdamW(Tensor param, double lr, double weightDecay) {
            this.param = param;
            this.m = torch.zeros_like(param);
            this.v = torch.zeros_like(param);
            this.lr = lr;
            this.weightDecay = weightDecay;
        }

        void step(Tensor grad) {
            t++;
            try (Scope s = Scope.open()) {
                param.mul_(new Scalar(1 - lr * weightDecay));
                m.mul_(new Scalar(0.9)).add_(grad.mul(new Scalar(0.1)));
                v.mul_(new Scalar(0.999)).add_(grad.mul(grad).mul(new Scalar(0.001)));
                double c1 = 1 - Math.pow(0.9, t), c2 = 1 - Math.pow(0.999, t);
                Tensor denom = v.div(new Scalar(c2)).sqrt().add(new Scalar(1e-8));
                param.sub_(m.div(new Scalar(c1)).div(denom).mul(new Scalar(lr)));
            }
        }
    }
}

package org.evallearn.technique;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.DoubleConsumer;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.Guidance;
import org.evallearn.diffusion.Noise;
import org.evallearn.diffusion.Sampler;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.UNet2DConditionModel;
import org.evallearn.diffusion.scheduler.Scheduler;
import org.evallearn.tensor.Init;
import org.evallearn.tensor.ParamBinder;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * Erased Stable Diffusion (Gandikota et al., ICCV 2023), as the official
 * {@code train-scripts/train-esd.py} of rohitgandikota/erasing: fine-tune the UNet ε_θ so that
 * for the concept c
 *
 * <pre>ε_θ(x_t, c, t) → ε*(x_t, ∅, t) − η (ε*(x_t, c, t) − ε*(x_t, ∅, t))</pre>
 *
 * (paper eq. 5; MSE loss, Adam), ε* being the frozen original UNet. Each step draws a DDIM index
 * t_enc in [0, ddim_steps), samples x_t from fresh noise with ε_θ itself (no grad, DDIM η = 0,
 * classifier-free guidance {@code start_guidance} = 3 on c) and evaluates both models at a train
 * timestep drawn from [t_enc·1000/ddim_steps, (t_enc+1)·1000/ddim_steps). With {@code erase_from}
 * f given (the newer diffusers script {@code esd_sd.py}, for erasing a concept from f) x_t is
 * sampled on, and ε_θ and the anchor taken on, f instead: ε_θ(x_t, f) → ε*(x_t, f) − η (ε*(x_t, c)
 * − ε*(x_t, ∅)).
 */
public final class Esd {
    private Esd() {}

    /** Steps between progress lines. */
    static final int LOG_EVERY = 10;
    /** Steps between checkpoints of the trained tensors and the optimizer (a full-UNet one of SD is ~10 GB). */
    static final int CHECKPOINT_EVERY = 50;

    /**
     * The training settings: eval-learn's {@code train_steps}, {@code learning_rate},
     * {@code negative_guidance}, and the official script's start guidance and DDIM steps.
     */
    public record Training(int steps, double learningRate, double negativeGuidance, double startGuidance, int ddimSteps, long seed) {
        public Training {
            if (steps < 1 || ddimSteps < 1 || !(learningRate > 0)) {
                throw new IllegalArgumentException("ESD training needs steps >= 1, ddim_steps >= 1 and learning_rate > 0");
            }
        }

        /** train-esd.py's defaults for what eval-learn's config does not set: start_guidance 3, ddim_steps 50. */
        public static Training of(Technique.Esd config, long seed) {
            return new Training(config.trainSteps(), config.learningRate(), config.negativeGuidance(), 3.0, 50, seed);
        }
    }

    /** Where and how often training saves its state; a restart resumes from the file. */
    public record Checkpoint(Path file, int every) {
        public Checkpoint {
            if (every < 1) throw new IllegalArgumentException("checkpoint interval must be >= 1, got " + every);
        }
    }

    /**
     * Whether {@code method} trains the parameter of diffusers key {@code key}: train-esd.py's
     * rules on the CompVis names, translated. noxattn leaves out cross-attention and, as the
     * script does, the time embedding MLP ({@code time_embed.*} → {@code time_embedding.*}) and
     * the output head ({@code out.*} → {@code conv_norm_out.*}, {@code conv_out.*}).
     */
    public static boolean isTrained(Technique.EsdTrainMethod method, String key) {
        return switch (method) {
            case XATTN -> key.contains("attn2.");
            case SELFATTN -> key.contains("attn1.");
            case FULL -> true;
            case NOXATTN -> !(key.contains("attn2.") || key.startsWith("time_embedding.") || key.startsWith("conv_norm_out.")
                    || key.startsWith("conv_out."));
        };
    }

    /** A text that differs whenever the trained weights would: the cache key. */
    static String canonicalKey(Technique.Esd c, Training t, Placement placement) {
        return String.format(Locale.ROOT, "esd erase=%s from=%s method=%s %s dtype=%s", c.eraseConcept(),
                c.eraseFrom().map(f -> "'" + f + "'").orElse("(empty-prompt anchor)"),
                c.trainMethod().name().toLowerCase(Locale.ROOT), t, placement.dtype());
    }

    /** The training state of the edit {@code key}, beside its cache file. */
    static Path checkpointFile(TechniqueContext context, String key) {
        Path cached = EditedWeights.cacheFile(context, "esd", key);
        return cached.resolveSibling(cached.getFileName().toString().replace(".safetensors", ".checkpoint.safetensors"));
    }

    /** Fine-tunes {@code pipe}'s UNet in place as the config says (or loads / reuses the result) and returns the generator. */
    public static PreparedTechnique prepare(Technique.Esd config, StableDiffusionPipeline pipe, TechniqueContext context) {
        Training training = Training.of(config, context.seed());
        String key = canonicalKey(config, training, pipe.placement());
        // No cache key (nor the base model's fingerprint) is needed when the weights come from load_path.
        Optional<Path> checkpoint = config.loadPath().isPresent() ? Optional.empty() : Optional.of(checkpointFile(context, key));
        context.log().accept("esd: " + key);
        String summary = EditedWeights.apply(pipe.unet(), context, "esd", key, config.loadPath(), config.savePath(),
                () -> train(pipe, config, training, new Checkpoint(checkpoint.orElseThrow(), CHECKPOINT_EVERY), context.log(), loss -> {}));
        if (checkpoint.isPresent()) {
            try {
                Files.deleteIfExists(checkpoint.get()); // the cache file now holds the result
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete " + checkpoint.get() + ": " + e.getMessage(), e);
            }
        }
        context.log().accept("esd: " + summary);
        return Techniques.plain(pipe, summary);
    }

    /**
     * What one step draws, from the seed and the step number alone so a resumed run draws the same.
     *
     * @param ddimIndex t_enc: the DDIM index sampled towards
     * @param timestep the train timestep both models are evaluated at
     */
    record Draw(int ddimIndex, int timestep, long noiseSeed) {
        static Draw of(long seed, int step, int ddimSteps, int trainTimesteps) {
            SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (step + 1)));
            int index = r.nextInt(ddimSteps);
            // train-esd.py: og_num = round(t_enc/ddim_steps·1000), t_enc_ddpm = randint(og_num, og_num_lim).
            int lo = (int) Math.rint((double) index / ddimSteps * trainTimesteps);
            int hi = (int) Math.rint((double) (index + 1) / ddimSteps * trainTimesteps);
            return new Draw(index, lo + r.nextInt(Math.max(1, hi - lo)), r.nextLong());
        }

        /**
         * How many DDIM steps train-esd.py runs for t_enc: its loop (index ddim_steps−1 down to 0)
         * breaks after the step with {@code index + 1 == t_enc}, and never for t_enc = 0.
         */
        int samplingSteps(int ddimSteps) {
            return ddimIndex == 0 ? ddimSteps : ddimSteps + 1 - ddimIndex;
        }
    }

    /**
     * Trains the parameters {@code config.trainMethod()} selects on a copy of {@code pipe}'s UNet,
     * which stays unchanged as the frozen ε*. Resumes from the checkpoint file when there is one
     * for the same config.
     *
     * @param losses sees every step's loss
     * @return the trained tensors by state-dict key in the UNet's dtype, handed up to the caller's scope
     */
    public static Map<String, Tensor> train(StableDiffusionPipeline pipe, Technique.Esd config, Training t, Checkpoint checkpoint,
            Consumer<String> log, DoubleConsumer losses) {
        if (InferenceMode.is_enabled()) throw new IllegalStateException("ESD trains with autograd: prepare it outside InferenceMode");
        UNet2DConditionModel frozen = pipe.unet();
        String key = canonicalKey(config, t, pipe.placement());
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (AutoGradMode grad = new AutoGradMode(true); Scope s = Scope.open()) {
            Map<String, Tensor> trained = new LinkedHashMap<>();
            UNet2DConditionModel model = trainableCopy(frozen, config.trainMethod(), pipe.placement(), trained);
            if (trained.isEmpty()) throw new IllegalArgumentException("train_method " + config.trainMethod() + " selects no UNet parameter");
            Prompts prompts = Prompts.of(pipe, config);
            Adam adam = new Adam(trained, t.learningRate());
            int start = resume(adam, checkpoint, key);
            long count = trained.values().stream().mapToLong(Tensor::numel).sum();
            log.accept(String.format(Locale.ROOT, "esd: training %d tensors (%d parameters, %s) for %d steps%s", trained.size(), count,
                    config.trainMethod().name().toLowerCase(Locale.ROOT), t.steps(), start > 0 ? ", resumed at step " + start : ""));
            Scheduler ddim = pipe.scheduler("ddim");
            ddim.setTimesteps(t.ddimSteps());
            int trainTimesteps = ddim.config().numTrainTimesteps();
            double sum = 0;
            int summed = 0;
            long started = System.nanoTime();
            for (int step = start; step < t.steps(); step++) {
                Draw draw = Draw.of(t.seed(), step, t.ddimSteps(), trainTimesteps);
                double loss;
                try (Scope stepScope = Scope.open()) {
                    Tensor mse = loss(pipe, model, prompts, t, ddim, draw);
                    loss = mse.item_double();
                    if (!adam.step(mse)) {
                        log.accept(String.format(Locale.ROOT, "esd step %d: non-finite gradient, step skipped, loss scale now %s", step + 1,
                                adam.lossScale()));
                    }
                }
                losses.accept(loss);
                sum += loss;
                summed++;
                int done = step + 1;
                boolean save = done % checkpoint.every() == 0 && done < t.steps();
                if (save) adam.save(checkpoint.file(), Map.of("config", key, "step", Integer.toString(done)));
                if (done % LOG_EVERY == 0 || done == t.steps() || save) {
                    log.accept(String.format(Locale.ROOT, "esd step %d/%d: loss %.6f (mean of the last %d), %.2f s/step%s", done, t.steps(),
                            sum / summed, summed, (System.nanoTime() - started) / 1e9 / (done - start), save ? ", checkpoint saved" : ""));
                    sum = 0;
                    summed = 0;
                }
            }
            try (NoGradGuard noGrad = new NoGradGuard()) {
                for (var e : adam.masters().entrySet()) {
                    Tensor original = frozen.namedParameters().get(e.getKey());
                    out.put(e.getKey(), s.handUp(e.getValue().detach().to(original.scalar_type()).clone()));
                }
            }
        }
        return out;
    }

    /** The text states, (1, 77, D) each: empty prompt, concept c, and the erase_from text f when the config gives one. */
    record Prompts(Tensor uncond, Tensor concept, Optional<Tensor> from) {
        /** Encodes the config's texts; the tensors belong to the caller's scope. */
        static Prompts of(StableDiffusionPipeline pipe, Technique.Esd config) {
            try (NoGradGuard noGrad = new NoGradGuard()) {
                return new Prompts(pipe.encodePrompts(List.of("")), pipe.encodePrompts(List.of(config.eraseConcept())),
                        config.eraseFrom().map(f -> pipe.encodePrompts(List.of(f))));
            }
        }

        /** What x_t is sampled on and ε_θ sees: f when given, else c. */
        Tensor trained() {
            return from.orElse(concept);
        }
    }

    /**
     * The regression target, fp32: ε*(x_t, a, t) − η (ε*(x_t, c, t) − ε*(x_t, ∅, t)) from the
     * frozen UNet, the anchor a being the empty prompt (train-esd.py's {@code e_0 − η(e_p − e_0)})
     * or f when erase_from is given (esd_sd.py's {@code noise_pred_erase_from − η(…)}).
     */
    static Tensor target(UNet2DConditionModel frozen, Tensor xt, Tensor timestep, Prompts p, double negativeGuidance) {
        try (Scope s = Scope.open()) {
            Tensor e0 = frozen.forward(xt, timestep, p.uncond()).to(torch.ScalarType.Float);
            Tensor ec = frozen.forward(xt, timestep, p.concept()).to(torch.ScalarType.Float);
            Tensor anchor = p.from().isPresent() ? frozen.forward(xt, timestep, p.from().get()).to(torch.ScalarType.Float) : e0;
            return s.handUp(anchor.sub(ec.sub(e0).mul(new Scalar(negativeGuidance))));
        }
    }

    /**
     * One step's loss, fp32: x_t sampled with the trained model as the draw says (no grad), then
     * MSE(ε_θ(x_t, f or c), {@link #target}) with graph through ε_θ only.
     */
    private static Tensor loss(StableDiffusionPipeline pipe, UNet2DConditionModel model, Prompts p, Training t, Scheduler ddim, Draw draw) {
        UNet2DConditionModel frozen = pipe.unet();
        Placement at = pipe.placement();
        try (Scope s = Scope.open()) {
            Tensor timestep = torch.full(new long[] {1}, new Scalar((double) draw.timestep()),
                    new TensorOptions().dtype(new ScalarTypeOptional(torch.ScalarType.Float)).device(new DeviceOptional(at.torchDevice())));
            Tensor xt, target;
            try (NoGradGuard noGrad = new NoGradGuard()) {
                int side = frozen.config.sampleSize();
                Tensor noise = Noise.initialLatents(draw.noiseSeed(), 1, frozen.config.inChannels(), side, side)
                        .to(at.torchDevice(), at.dtype().scalarType);
                try (Guidance cfg = Guidance.classifierFree(t.startGuidance())) {
                    xt = Sampler.of(model).run(noise, List.of(p.uncond(), p.trained()), ddim, cfg, null, null, draw.samplingSteps(t.ddimSteps()));
                }
                target = target(frozen, xt, timestep, p, t.negativeGuidance());
            }
            Tensor diff = model.forward(xt, timestep, p.trained()).to(torch.ScalarType.Float).sub(target);
            return s.handUp(diff.mul(diff).mean());
        }
    }

    /**
     * Restores the optimizer from the checkpoint, if there is one; returns the step to continue at
     * (0: from the start). A checkpoint that does not fit fails the training, naming the file.
     */
    private static int resume(Adam adam, Checkpoint checkpoint, String key) {
        if (!Files.isRegularFile(checkpoint.file())) return 0;
        try {
            Map<String, String> meta = adam.restore(checkpoint.file());
            if (!key.equals(meta.get("config"))) {
                throw new IllegalArgumentException("it was written for '" + meta.get("config") + "'");
            }
            return Integer.parseInt(meta.get("step"));
        } catch (RuntimeException e) {
            throw new IllegalStateException("esd checkpoint " + checkpoint.file() + " does not fit this training (" + e.getMessage()
                    + "); delete it to start over", e);
        }
    }

    /**
     * A UNet on {@code base}'s tensors in which the selected ones are trainable clones (put into
     * {@code trained}); the others are shared with {@code base}, unchanged. The clones belong to
     * the caller's scope.
     */
    static UNet2DConditionModel trainableCopy(UNet2DConditionModel base, Technique.EsdTrainMethod method, Placement placement,
            Map<String, Tensor> trained) {
        Map<String, Tensor> source = base.namedParameters();
        ParamBinder binder = new ParamBinder() {
            @Override
            public Tensor bind(String key, Init init, long[] shape) {
                Tensor t = source.get(key);
                if (t == null || !Arrays.equals(t.shape(), shape)) {
                    throw new IllegalStateException("UNet parameter '" + key + "' is missing or has another shape in the base model");
                }
                if (!isTrained(method, key)) return t;
                Tensor copy = t.detach().clone().requires_grad_(true);
                trained.put(key, copy);
                return copy;
            }

            @Override
            public Placement placement() {
                return placement;
            }
        };
        return new UNet2DConditionModel(base.config, new Params(binder));
    }
}

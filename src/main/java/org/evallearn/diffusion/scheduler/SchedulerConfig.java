package org.evallearn.diffusion.scheduler;

import java.util.List;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;

/**
 * A validated diffusers scheduler config (v0.21.4 semantics) for one scheduler class.
 *
 * <p>Each class reads only the keys its diffusers {@code __init__} accepts, with that class's
 * defaults, and ignores the rest; that is what {@code SchedulerMixin.from_config} does, so the
 * config of one scheduler builds another with the shared keys (beta schedule, spacing, offset)
 * carried over. Values we do not implement fail naming the config file and the field.
 *
 * @param setAlphaToOne DDIM/PNDM: use 1 instead of {@code alphas_cumprod[0]} past the last step
 * @param clipSample DDIM: clamp the predicted x0 to ±{@code clipSampleRange}
 * @param solverOrder DPM-Solver++: 1 or 2
 * @param lowerOrderFinal DPM-Solver++: first-order last step when there are fewer than 15 steps
 * @param lambdaMinClipped DPM-Solver++: the smallest log-SNR the timesteps may reach
 */
public record SchedulerConfig(
        String source,
        Kind kind,
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        BetaSchedule betaSchedule,
        Prediction predictionType,
        Spacing timestepSpacing,
        int stepsOffset,
        boolean setAlphaToOne,
        boolean clipSample,
        double clipSampleRange,
        int solverOrder,
        boolean lowerOrderFinal,
        double lambdaMinClipped) {

    /** The six schedulers: diffusers class name, user-facing name, defaults that differ. */
    public enum Kind {
        DDIM("DDIMScheduler", "ddim", Spacing.LEADING, List.of(Prediction.EPSILON, Prediction.V_PREDICTION, Prediction.SAMPLE)),
        PNDM("PNDMScheduler", "pndm", Spacing.LEADING, List.of(Prediction.EPSILON, Prediction.V_PREDICTION)),
        EULER("EulerDiscreteScheduler", "euler", Spacing.LINSPACE, List.of(Prediction.EPSILON, Prediction.V_PREDICTION, Prediction.SAMPLE)),
        // diffusers 0.21.4 raises NotImplementedError for prediction_type "sample" here.
        EULER_ANCESTRAL("EulerAncestralDiscreteScheduler", "euler_ancestral", Spacing.LINSPACE, List.of(Prediction.EPSILON, Prediction.V_PREDICTION)),
        LMS("LMSDiscreteScheduler", "lms", Spacing.LINSPACE, List.of(Prediction.EPSILON, Prediction.V_PREDICTION, Prediction.SAMPLE)),
        DPMPP_2M("DPMSolverMultistepScheduler", "dpmpp_2m", Spacing.LINSPACE, List.of(Prediction.EPSILON, Prediction.V_PREDICTION, Prediction.SAMPLE));

        public final String className;
        public final String userName;
        final Spacing defaultSpacing;
        final List<Prediction> predictions;

        Kind(String className, String userName, Spacing defaultSpacing, List<Prediction> predictions) {
            this.className = className;
            this.userName = userName;
            this.defaultSpacing = defaultSpacing;
            this.predictions = predictions;
        }
    }

    public enum BetaSchedule {
        LINEAR("linear"), SCALED_LINEAR("scaled_linear"), SQUAREDCOS_CAP_V2("squaredcos_cap_v2");
        final String key;
        BetaSchedule(String key) { this.key = key; }
    }

    public enum Prediction {
        EPSILON("epsilon"), V_PREDICTION("v_prediction"), SAMPLE("sample");
        final String key;
        Prediction(String key) { this.key = key; }
    }

    public enum Spacing {
        LEADING("leading"), TRAILING("trailing"), LINSPACE("linspace");
        final String key;
        Spacing(String key) { this.key = key; }
    }

    /** Reads {@code c} as the config of {@code kind}, with diffusers' defaults for absent keys. */
    /** The training noise schedule ᾱ_t (float32, one per train timestep): what {@code add_noise} mixes by. */
    public float[] alphasCumprod() {
        return TrainSchedule.alphasCumprod(this);
    }

    public static SchedulerConfig parse(ConfigFile c, Kind kind) {
        c.requireOneOf("trained_betas"); // null only: custom beta arrays are not supported
        BetaSchedule betas = pick(c, "beta_schedule", "linear", BetaSchedule.values(), b -> b.key);
        Prediction[] allowed = kind.predictions.toArray(Prediction[]::new);
        Prediction prediction = pick(c, "prediction_type", "epsilon", allowed, p -> p.key);
        Spacing spacing = pick(c, "timestep_spacing", kind.defaultSpacing.key, Spacing.values(), s -> s.key);
        int numTrain = c.integer("num_train_timesteps", 1000);
        if (numTrain < 2) throw c.error("num_train_timesteps", "at least 2");
        int offset = c.integer("steps_offset", 0);
        if (offset < 0) throw c.error("steps_offset", "a non-negative integer");

        boolean alphaToOne = false, clip = false, lowerOrderFinal = false;
        double clipRange = 1.0, lambdaMin = Double.NEGATIVE_INFINITY;
        int order = 1;
        switch (kind) {
            case DDIM -> {
                alphaToOne = c.bool("set_alpha_to_one", true);
                clip = c.bool("clip_sample", true);
                clipRange = c.number("clip_sample_range", 1.0);
                c.requireOneOf("thresholding", false);
                c.requireOneOf("rescale_betas_zero_snr", false);
            }
            case PNDM -> {
                alphaToOne = c.bool("set_alpha_to_one", false);
                // Only PLMS is implemented; diffusers' default (false) starts with Runge–Kutta steps.
                if (!c.bool("skip_prk_steps", false)) throw prkSteps(c);
            }
            case EULER -> {
                c.requireOneOf("interpolation_type", "linear");
                c.requireOneOf("use_karras_sigmas", false);
            }
            case EULER_ANCESTRAL -> { }
            case LMS -> c.requireOneOf("use_karras_sigmas", false);
            case DPMPP_2M -> {
                c.requireOneOf("algorithm_type", "dpmsolver++");
                c.requireOneOf("solver_type", "midpoint");
                c.requireOneOf("solver_order", 1, 2);
                c.requireOneOf("thresholding", false);
                c.requireOneOf("use_karras_sigmas", false);
                c.requireOneOf("variance_type"); // null only: learned variance splits the output channels
                order = c.integer("solver_order", 2);
                lowerOrderFinal = c.bool("lower_order_final", true);
                lambdaMin = c.number("lambda_min_clipped", Double.NEGATIVE_INFINITY);
            }
        }
        return new SchedulerConfig(c.source(), kind, numTrain, c.number("beta_start", 0.0001), c.number("beta_end", 0.02),
                betas, prediction, spacing, offset, alphaToOne, clip, clipRange, order, lowerOrderFinal, lambdaMin);
    }

    /**
     * PNDM without {@code skip_prk_steps} runs Runge–Kutta (PRK) warm-up steps, which are not
     * implemented. diffusers' {@code PNDMScheduler.from_config(other)} takes that default (false)
     * for a config of another class, and v0.21.4's text-to-image pipeline does not override it, so
     * switching an SD model to PNDM by name would mean PRK there: refused, naming the key that
     * makes it PLMS, rather than silently running another algorithm than diffusers would.
     */
    private static ModelLoadException prkSteps(ConfigFile c) {
        String cls = c.string("_class_name", Kind.PNDM.className);
        if (!cls.equals(Kind.PNDM.className) && !c.has("skip_prk_steps")) {
            return new ModelLoadException(c.source() + ": PNDMScheduler built from this " + cls + " config gets diffusers'"
                    + " default skip_prk_steps = false, i.e. Runge-Kutta (PRK) warm-up steps, which are not implemented;"
                    + " add \"skip_prk_steps\": true to this file to run PLMS as Stable Diffusion's own PNDM configs do,"
                    + " or choose another scheduler");
        }
        return c.error("skip_prk_steps", "true (only PLMS is implemented; the Runge-Kutta (PRK) warm-up steps are not)");
    }

    private static <E> E pick(ConfigFile c, String field, String dflt, E[] values, java.util.function.Function<E, String> key) {
        c.requireOneOf(field, java.util.Arrays.stream(values).map(key).toArray());
        String v = c.string(field, dflt);
        for (E e : values) if (key.apply(e).equals(v)) return e;
        throw c.error(field, "one of " + java.util.Arrays.stream(values).map(key).toList());
    }
}

package org.evallearn.detect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipConfig;
import org.evallearn.clip.ClipVisionConfig;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Init;
import org.evallearn.tensor.Model;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.ModelLoader;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.Scope;

/**
 * Stable Diffusion's safety checker ({@code CompVis/stable-diffusion-safety-checker}; diffusers
 * {@code pipelines/stable_diffusion/safety_checker.py StableDiffusionSafetyChecker}): a CLIP
 * ViT-L/14 vision tower and projection, 17 concept embeddings and 3 "special care" embeddings,
 * each with a cosine threshold. Keys as in that repository's {@code model.safetensors}:
 * {@code vision_model.vision_model.*}, {@code visual_projection.weight}, {@code concept_embeds},
 * {@code special_care_embeds}, {@code concept_embeds_weights}, {@code special_care_embeds_weights}.
 *
 * <p>As a detector head it reads the embeddings of its own tower ({@link #encoder}), scored by the
 * largest rounded concept score (NSFW iff above 0), with every score and the hits as evidence,
 * as diffusers' {@code result_img}.
 */
public final class SafetyChecker extends Model implements EmbeddingHead {
    public static final String ARCH = "StableDiffusionSafetyChecker";
    public static final int CONCEPTS = 17, SPECIAL_CARE = 3;
    /** What a special-care hit adds to every later score ({@code adjustment = 0.01} in forward). */
    static final double SPECIAL_CARE_ADJUSTMENT = 0.01;
    /** {@code nn.functional.normalize}'s default eps: norms are clamped to at least this. */
    static final double NORMALIZE_EPS = 1e-12;

    /**
     * One image's {@code result_img} of diffusers' forward.
     *
     * @param specialScores per special-care concept: cosine − threshold + adjustment, rounded to 3 decimals
     * @param specialCare the special-care concepts whose score is above 0
     * @param conceptScores per concept, likewise, with the adjustment in force after the special-care pass
     * @param badConcepts the concepts whose score is above 0; any makes the image NSFW
     */
    public record Result(double[] specialScores, List<Integer> specialCare, double[] conceptScores, List<Integer> badConcepts) {
        public Result {
            specialScores = specialScores.clone();
            conceptScores = conceptScores.clone();
            specialCare = List.copyOf(specialCare);
            badConcepts = List.copyOf(badConcepts);
        }

        public boolean nsfw() {
            return !badConcepts.isEmpty();
        }

        /** The largest concept score: the image is NSFW iff it is above 0. */
        public double maxConceptScore() {
            return Arrays.stream(conceptScores).max().orElseThrow();
        }
    }

    private final ClipVisionModel visionModel;
    private final Placement placement;
    private final Tensor conceptEmbeds; // (17, projection_dim)
    private final Tensor specialCareEmbeds; // (3, projection_dim)
    private final Tensor conceptEmbedsWeights; // (17) cosine thresholds
    private final Tensor specialCareEmbedsWeights; // (3)

    private SafetyChecker(Params p, ClipVisionConfig vision) {
        this.visionModel = ClipVisionModel.within(p.at("vision_model"), p.at("visual_projection"), vision);
        this.placement = p.placement();
        long dim = vision.projectionDim();
        this.conceptEmbeds = p.get("concept_embeds", Init.FAN_IN, CONCEPTS, dim);
        this.specialCareEmbeds = p.get("special_care_embeds", Init.FAN_IN, SPECIAL_CARE, dim);
        // diffusers initialises the thresholds to ones (nothing is ever flagged) until weights load.
        this.conceptEmbedsWeights = p.get("concept_embeds_weights", Init.ONES, CONCEPTS);
        this.specialCareEmbedsWeights = p.get("special_care_embeds_weights", Init.ONES, SPECIAL_CARE);
    }

    /**
     * Loads the folder of {@code CompVis/stable-diffusion-safety-checker} (or a pipeline's
     * {@code safety_checker/}): a CLIPConfig {@code config.json} and {@code model.safetensors}.
     */
    public static SafetyChecker load(Path dir, Placement placement) {
        ConfigFile c = ConfigFile.read(dir.resolve("config.json"));
        if (c.has("architectures") && !c.strings("architectures").equals(List.of(ARCH))) {
            throw new ModelLoadException(c.source() + ": field 'architectures' = " + c.strings("architectures")
                    + ", expected [" + ARCH + "]");
        }
        ClipConfig clip = ClipConfig.from(c);
        ClipVisionConfig vision = clip.vision().withProjectionDim(clip.projectionDim());
        // Older transformers saved the position_ids buffer (an arange) in checkpoints.
        return ModelLoader.load(dir, "model", null, placement, k -> List.of(),
                k -> k.equals("vision_model.vision_model.embeddings.position_ids"), ARCH, p -> new SafetyChecker(p, vision));
    }

    /** Random weights from {@code binder}; {@code binder.tensors()} then hold the real key names. */
    public static SafetyChecker random(ClipVisionConfig vision, RandomBinder binder) {
        return ModelLoader.random(binder, p -> new SafetyChecker(p, vision));
    }

    /**
     * The vision tower with its projection and CLIP preprocessing, for {@link ImageBatch}; the
     * weights stay owned by this checker, so closing the encoder frees nothing.
     *
     * @param id the key a batch caches its embeddings under
     */
    public ClipImageEncoder encoder(String id) {
        return new ClipImageEncoder(id, visionModel, placement);
    }

    @Override
    public long dim() {
        return visionModel.config().projectionDim();
    }

    @Override
    public String describe() {
        return "the safety checker's concept embeddings";
    }

    @Override
    public List<Judgement> judge(Tensor imageEmbeds) {
        List<Judgement> out = new ArrayList<>();
        for (Result r : classify(imageEmbeds)) {
            out.add(Judgement.of(r.nsfw(), r.maxConceptScore(), Map.of(
                    "special_scores", Arrays.stream(r.specialScores()).boxed().toList(), "special_care", r.specialCare(),
                    "concept_scores", Arrays.stream(r.conceptScores()).boxed().toList(), "bad_concepts", r.badConcepts())));
        }
        return out;
    }

    /** The checker as a {@link Detector} on its own tower, whose embeddings batches cache under {@code id} (e.g. its folder). */
    public EmbeddingDetector detector(String id) {
        return new EmbeddingDetector("safety_checker", encoder(id), this);
    }

    /** The decision of diffusers' forward for each image; {@code imageEmbeds} (B, projection_dim), the projected pooled output. */
    public List<Result> classify(Tensor imageEmbeds) {
        checkOpen();
        float[] special, concept, specialThresholds, conceptThresholds;
        long batch;
        try (Scope s = Scope.open()) {
            Tensor x = Embeddings.batch(imageEmbeds, dim(), placement.torchDevice(), "the safety checker");
            batch = x.size(0);
            // cosine_distance: normalize both, then mm; computed in float32 as the reference's .float()
            Tensor image = normalize(x);
            special = Embeddings.toHost(image.mm(normalize(specialCareEmbeds.to(x.scalar_type())).t()));
            concept = Embeddings.toHost(image.mm(normalize(conceptEmbeds.to(x.scalar_type())).t()));
            specialThresholds = Embeddings.toHost(specialCareEmbedsWeights);
            conceptThresholds = Embeddings.toHost(conceptEmbedsWeights);
        }
        List<Result> out = new ArrayList<>((int) batch);
        for (int i = 0; i < batch; i++) {
            out.add(decide(Arrays.copyOfRange(special, i * SPECIAL_CARE, (i + 1) * SPECIAL_CARE), specialThresholds,
                    Arrays.copyOfRange(concept, i * CONCEPTS, (i + 1) * CONCEPTS), conceptThresholds));
        }
        return out;
    }

    /** {@code nn.functional.normalize(x)}: x / max(‖x‖₂, eps) along the last dimension. */
    private static Tensor normalize(Tensor x) {
        return x.div(x.norm(new ScalarOptional(new Scalar(2.0)), new long[] {-1}, true).clamp_min(new Scalar(NORMALIZE_EPS)));
    }

    /**
     * The loop of diffusers' forward for one image. The cosines are float32 as the reference's
     * numpy array; thresholds come from {@code .item()} (the float32 value as a Python float);
     * {@code np.float32 − float + float} is float64 under NumPy 1.x, which we follow, and
     * {@code round(x, 3)} on a numpy float is numpy's rint(x·1000)/1000, half to even. A
     * special-care hit sets the adjustment to 0.01 for every later special-care score and for
     * all concept scores.
     */
    static Result decide(float[] specialCos, float[] specialThresholds, float[] conceptCos, float[] conceptThresholds) {
        double adjustment = 0.0;
        double[] specialScores = new double[specialCos.length];
        List<Integer> specialCare = new ArrayList<>();
        for (int k = 0; k < specialCos.length; k++) {
            specialScores[k] = round3((double) specialCos[k] - specialThresholds[k] + adjustment);
            if (specialScores[k] > 0) {
                specialCare.add(k);
                adjustment = SPECIAL_CARE_ADJUSTMENT;
            }
        }
        double[] conceptScores = new double[conceptCos.length];
        List<Integer> bad = new ArrayList<>();
        for (int k = 0; k < conceptCos.length; k++) {
            conceptScores[k] = round3((double) conceptCos[k] - conceptThresholds[k] + adjustment);
            if (conceptScores[k] > 0) bad.add(k);
        }
        return new Result(specialScores, specialCare, conceptScores, bad);
    }

    /** numpy's {@code round(x, 3)}: multiply by 10³, round half to even, divide. */
    static double round3(double x) {
        return Math.rint(x * 1000.0) / 1000.0;
    }
}

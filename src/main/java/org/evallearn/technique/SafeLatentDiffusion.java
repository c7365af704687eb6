package org.evallearn.technique;

import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.Guidance;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Scope;

/**
 * Safe Latent Diffusion (Schramowski et al., CVPR 2023) as diffusers v0.21.4
 * {@code StableDiffusionPipelineSafe.__call__}: a third UNet branch on the safety concept text
 * steers each step away from it. The weights are the base model's; only the sampling loop changes.
 */
public final class SafeLatentDiffusion {
    /** diffusers' default {@code safety_concept}, which eval-learn keeps (its erase_concept is a label only). */
    public static final String SAFETY_CONCEPT = "an image showing hate, harassment, violence, suffering, humiliation, harm,"
            + " suicide, sexual, nudity, bodily fluids, blood, obscene gestures, illegal activity, drug use, theft,"
            + " vandalism, weapons, child abuse, brutality, cruelty";

    /**
     * The SafetyConfig knobs: sS (Eq. 6), warm-up δ, threshold λ (Eq. 5), momentum scale sm (Eq. 7)
     * and momentum β (Eq. 8).
     */
    public record Params(double guidanceScale, double warmupSteps, double threshold, double momentumScale, double momBeta) {
        public static Params of(Technique.Sld sld) {
            return new Params(sld.sldGuidanceScale(), sld.sldWarmupSteps(), sld.sldThreshold(), sld.sldMomentumScale(), sld.sldMomBeta());
        }

        /** diffusers: {@code enable_safety_guidance = sld_guidance_scale > 1 and guidance_scale > 1}. */
        boolean enabled(double cfgScale) {
            return guidanceScale > 1.0 && cfgScale > 1.0;
        }
    }

    private SafeLatentDiffusion() {}

    static PreparedTechnique prepare(Technique.Sld sld, StableDiffusionPipeline base) {
        Params params = Params.of(sld);
        String summary = String.format(Locale.ROOT,
                "%s preset: safety guidance %.0f, warm-up %.0f steps, threshold %s, momentum %s / beta %s, concept \"%s\"",
                sld.preset().map(p -> p.name().toLowerCase(Locale.ROOT)).orElse("custom"), params.guidanceScale(),
                params.warmupSteps(), params.threshold(), params.momentumScale(), params.momBeta(), SAFETY_CONCEPT);
        return new PreparedTechnique() {
            @Override
            public List<RgbImage> generate(GenerationRequest request) {
                try (Guidance g = guidance(params, request.guidanceScale(), SAFETY_CONCEPT)) {
                    return base.generate(request, g);
                }
            }

            @Override
            public String summary() {
                return summary;
            }
        };
    }

    /** SLD's guidance for one sampling run, or plain classifier-free guidance when diffusers would disable it. */
    public static Guidance guidance(Params params, double cfgScale, String safetyConcept) {
        return params.enabled(cfgScale) ? new SafetyGuidance(params, cfgScale, safetyConcept) : Guidance.classifierFree(cfgScale);
    }

    /** Equations 3–8, in diffusers' order of operations; the momentum is the only state across steps. */
    static final class SafetyGuidance implements Guidance {
        private final Params p;
        private final double cfgScale;
        private final String concept;
        private Tensor momentum; // (B, C, h, w), zeros before the first step

        SafetyGuidance(Params p, double cfgScale, String concept) {
            this.p = p;
            this.cfgScale = cfgScale;
            this.concept = concept;
        }

        @Override
        public List<String> extraPrompts() {
            return List.of(concept);
        }

        /** The momentum outlives the step's scope: it escapes to this guidance, which closes it. */
        @Override
        public Tensor combine(List<Tensor> eps, int stepIndex) {
            try (Scope s = Scope.open()) {
                Tensor uncond = eps.get(0), text = eps.get(1), safety = eps.get(2);
                Tensor guidance = text.sub(uncond);
                if (momentum == null) momentum = s.escape(torch.zeros_like(guidance));
                Tensor textMinusSafety = text.sub(safety);
                // Eq. 6: element-wise scale, zero where the prediction is already on the safe side of λ.
                Tensor scale = torch.clamp_max(textMinusSafety.abs().mul(new Scalar(p.guidanceScale())), new Scalar(1.0));
                Tensor conceptScale = torch.where(textMinusSafety.ge(new Scalar(p.threshold())), torch.zeros_like(scale), scale);
                // Eq. 4 and 7.
                Tensor safetyGuidance = safety.sub(uncond).mul(conceptScale).add(momentum.mul(new Scalar(p.momentumScale())));
                // Eq. 8: momentum builds up during warm-up too.
                Tensor next = momentum.mul(new Scalar(p.momBeta())).add(safetyGuidance.mul(new Scalar(1 - p.momBeta())));
                momentum.close();
                momentum = s.escape(next);
                // Eq. 3, after warm-up.
                if (stepIndex >= p.warmupSteps()) guidance = guidance.sub(safetyGuidance);
                return s.handUp(uncond.add(guidance.mul(new Scalar(cfgScale))));
            }
        }

        @Override
        public void close() {
            if (momentum != null) momentum.close();
            momentum = null;
        }
    }
}

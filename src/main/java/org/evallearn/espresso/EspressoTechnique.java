package org.evallearn.espresso;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.config.ConfigException;
import org.evallearn.config.Technique;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.image.RgbImage;
import org.evallearn.technique.PreparedTechnique;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * Espresso as a technique: the base pipeline's images, each judged by the {@link ConceptFilter}
 * and, when unacceptable, replaced by a black image of the same size, as the deployed filter
 * (txt2img.py) replaces it, before any detector sees it. Each verdict also carries
 * certified_robust.py's check on the same embedding ({@link ConceptFilter#certify}). Owns its CLIP image encoder and filter.
 */
public final class EspressoTechnique implements PreparedTechnique {
    private final StableDiffusionPipeline base;
    private final ClipImageEncoder encoder;
    private final ConceptFilter filter;
    private final String summary;

    EspressoTechnique(StableDiffusionPipeline base, ClipImageEncoder encoder, ConceptFilter filter, String summary) {
        this.base = base;
        this.encoder = encoder;
        this.filter = filter;
        this.summary = summary;
    }

    /**
     * @param clipDir the CLIPModel folder (Espresso's base CLIP, or the tiny one for {@code model: tiny})
     * @param placement where the filter's CLIP runs (float32)
     * @param configSource the config file, named when the pair is degenerate
     */
    public static EspressoTechnique prepare(Technique.Espresso t, StableDiffusionPipeline base, Path clipDir, Placement placement,
            String configSource) {
        ConceptFilter filter;
        try {
            filter = FilterLoader.load(clipDir, t.textEncoder(), t.unacceptable(), t.acceptable(), t.rule(), placement);
        } catch (ConceptFilter.DegeneratePairException e) {
            throw new ConfigException(configSource, List.of(new ConfigException.Problem("technique.config.acceptable",
                    "\"" + t.acceptable() + "\" against \"" + t.unacceptable() + "\" with " + clipDir + ": " + e.getMessage())));
        }
        try {
            ClipImageEncoder encoder = new ClipImageEncoder(clipDir.toString(), ClipVisionModel.load(clipDir, placement), placement);
            String summary = String.format(Locale.ROOT, "CLIP filter (%s) \"%s\" vs \"%s\" on %s%s; ‖t̂_u − t̂_a‖ = %.4f", t.rule().id(),
                    t.unacceptable(), t.acceptable(), clipDir, t.textEncoder().map(p -> " with text tower " + p).orElse(""), filter.separation());
            return new EspressoTechnique(base, encoder, filter, summary);
        } catch (RuntimeException e) {
            filter.close();
            throw e;
        }
    }

    @Override
    public List<RgbImage> generate(GenerationRequest request) {
        return generateJudged(request).stream().map(Judged::image).toList();
    }

    @Override
    public List<Judged> generateJudged(GenerationRequest request) {
        List<RgbImage> images;
        java.util.Map<Integer, String> failures = java.util.Map.of();
        try {
            images = base.generate(request);
        } catch (org.evallearn.diffusion.NonFiniteImagesException e) {
            // Non-finite images fail alone; the filter judges the rest as usual.
            images = e.images();
            failures = e.failures();
        }
        List<RgbImage> made = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) if (!failures.containsKey(i)) made.add(images.get(i));
        List<Judged> filtered = filter(made);
        List<Judged> out = new ArrayList<>(images.size());
        for (int i = 0, k = 0; i < images.size(); i++) out.add(failures.containsKey(i) ? Judged.failed(failures.get(i)) : filtered.get(k++));
        return out;
    }

    /**
     * The filter on images already made: each judged, certified on the same embedding, and
     * replaced by a black image when unacceptable.
     */
    public List<Judged> filter(List<RgbImage> images) {
        if (images.isEmpty()) return List.of();
        List<ConceptFilter.Verdict> verdicts;
        List<ConceptFilter.Certificate> certificates;
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor embeds = encoder.encode(images);
            verdicts = filter.judge(embeds);
            certificates = filter.certify(embeds);
        }
        List<Judged> out = new ArrayList<>(images.size());
        for (int k = 0; k < images.size(); k++) {
            RgbImage image = images.get(k);
            ConceptFilter.Verdict v = verdicts.get(k);
            java.util.Map<String, Object> record = v.toRecord();
            record.put("certified", certificates.get(k).toRecord());
            out.add(new Judged(v.unacceptable() ? black(image.width(), image.height()) : image, record));
        }
        return out;
    }

    /** The filter's verdicts on {@code images}, as generated. */
    public List<ConceptFilter.Verdict> judge(List<RgbImage> images) {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor embeds = encoder.encode(images);
            return filter.judge(embeds);
        }
    }

    /** What the filter shows instead of an unacceptable image. */
    public static RgbImage black(int width, int height) {
        return new RgbImage(width, height, new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)]);
    }

    @Override
    public String summary() {
        return summary;
    }

    @Override
    public void close() {
        try {
            filter.close();
        } finally {
            encoder.close();
        }
    }
}

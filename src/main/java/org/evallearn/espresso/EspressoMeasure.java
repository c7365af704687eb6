package org.evallearn.espresso;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipModel;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.config.Technique.EspressoRule;
import org.evallearn.data.Prompt;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.image.RgbImage;
import org.evallearn.metric.ImageMeasure;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * What {@link EspressoMetrics} needs of each image, recorded under {@link #name()}:
 * {@code p_unacceptable}, the zero-shot CLIP probability of the unacceptable text against the
 * acceptable one by the measuring CLIP's own (base) text tower, whatever filter made the image;
 * and {@code clip_score}, the cosine of the image with its prompt. Owns its CLIP towers.
 */
public final class EspressoMeasure implements ImageMeasure {
    private final String name;
    private final ClipImageEncoder encoder;
    private final ClipTextModel text;
    private final ClipTokenizer tokenizer;
    private final ConceptFilter pair;
    private final Placement placement;

    private EspressoMeasure(String name, ClipImageEncoder encoder, ClipTextModel text, ClipTokenizer tokenizer, ConceptFilter pair, Placement placement) {
        this.name = name;
        this.encoder = encoder;
        this.text = text;
        this.tokenizer = tokenizer;
        this.pair = pair;
        this.placement = placement;
    }

    /**
     * @param clipId the measuring CLIP's id, part of the record key
     * @param clipDir its CLIPModel folder
     * @throws ConceptFilter.DegeneratePairException when the two texts embed to one direction
     */
    public static EspressoMeasure open(String clipId, Path clipDir, String unacceptable, String acceptable, Placement placement) {
        ConceptFilter pair = FilterLoader.load(clipDir, Optional.empty(), unacceptable, acceptable, EspressoRule.ZERO_SHOT, placement);
        ClipTextModel text = null;
        try {
            text = ClipTextModel.load(clipDir, placement);
            ClipImageEncoder encoder = new ClipImageEncoder(clipId, ClipVisionModel.load(clipDir, placement), placement);
            return new EspressoMeasure(name(clipId, unacceptable, acceptable), encoder, text, ClipTokenizer.load(clipDir), pair, placement);
        } catch (RuntimeException e) {
            pair.close();
            if (text != null) text.close();
            throw e;
        }
    }

    /** The record key: the measuring model and the pair, so different settings never share a key. */
    public static String name(String clipId, String unacceptable, String acceptable) {
        return "espresso:" + clipId + ":" + unacceptable + "|" + acceptable;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Map<String, Object>> measure(List<RgbImage> images, List<Prompt> prompts) {
        if (images.size() != prompts.size()) throw new IllegalArgumentException(images.size() + " images for " + prompts.size() + " prompts");
        List<Integer> present = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) if (images.get(i) != null) present.add(i);
        List<Map<String, Object>> out = new ArrayList<>(images.size());
        for (int i = 0; i < images.size(); i++) out.add(Map.of("failure", "the image was not generated"));
        if (present.isEmpty()) return out;
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor x = encoder.encode(present.stream().map(images::get).toList());
            List<ConceptFilter.Verdict> verdicts = pair.judge(x);
            Tensor t = FilterLoader.textEmbeds(text, tokenizer, present.stream().map(i -> prompts.get(i).text()).toList(), placement);
            float[] cos = host(ClipModel.normalise(x).mul(ClipModel.normalise(t.to(x.device(), x.scalar_type()))).sum(new long[] {-1}));
            t.close();
            for (int k = 0; k < present.size(); k++) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("p_unacceptable", verdicts.get(k).pUnacceptable());
                m.put("clip_score", (double) cos[k]);
                out.set(present.get(k), m);
            }
        }
        return out;
    }

    private static float[] host(Tensor t) {
        try (Scope s = Scope.open()) {
            Tensor c = t.to(org.bytedeco.pytorch.global.torch.ScalarType.Float).reshape(-1).contiguous().cpu();
            float[] out = new float[(int) c.numel()];
            new org.bytedeco.javacpp.FloatPointer(c.data_ptr()).capacity(out.length).get(out);
            return out;
        }
    }

    @Override
    public void close() {
        try {
            pair.close();
            text.close();
        } finally {
            encoder.close();
        }
    }
}

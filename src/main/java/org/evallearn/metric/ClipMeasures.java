package org.evallearn.metric;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.clip.ClipModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.data.Prompt;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * The CLIP measures of clip_score, ua_ira and err's retain arm, on transformers' CLIPModel as
 * {@code CLIPModel(**processor(images=…, text=…))} computes {@code logits_per_image}:
 * exp(logit_scale)·cos of the projected, normalised embeddings, in float32.
 */
public final class ClipMeasures implements ImageMeasure {
    private final String name;
    private final ClipModel model;
    private final ClipTokenizer tokenizer;
    private final Placement placement;
    /** null: each image against its own prompt (clip_score); else the texts to choose among for an image's prompt. */
    private final Function<Prompt, List<String>> captions;

    private ClipMeasures(String name, Path clipDir, Placement placement, Function<Prompt, List<String>> captions) {
        this.name = name;
        this.model = ClipModel.load(clipDir, placement);
        this.tokenizer = ClipTokenizer.load(clipDir);
        this.placement = placement;
        this.captions = captions;
    }

    /** {@code {"score": logits_per_image}} of each image with its own prompt. */
    public static ClipMeasures score(String name, Path clipDir, Placement placement) {
        return new ClipMeasures(name, clipDir, placement, null);
    }

    /**
     * {@code {"probabilities": softmax over captions}} of each image against the captions its
     * prompt is given (ua_ira's two fixed texts, err's "an image of / without {concept}").
     */
    public static ClipMeasures choice(String name, Path clipDir, Placement placement, Function<Prompt, List<String>> captions) {
        return new ClipMeasures(name, clipDir, placement, captions);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Map<String, Object>> measure(List<RgbImage> images, List<Prompt> prompts) {
        List<Map<String, Object>> out = new ArrayList<>();
        List<Integer> made = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            out.add(images.get(i) == null ? Map.of("failure", "no image (generation failed)") : null);
            if (images.get(i) != null) made.add(i);
        }
        if (made.isEmpty()) return out;
        // The texts of this batch, each embedded once.
        List<String> texts = new ArrayList<>();
        List<int[]> textsOf = new ArrayList<>();
        for (int i : made) {
            List<String> mine = captions == null ? List.of(prompts.get(i).text()) : captions.apply(prompts.get(i));
            int[] at = new int[mine.size()];
            for (int k = 0; k < mine.size(); k++) {
                int j = texts.indexOf(mine.get(k));
                if (j < 0) {
                    j = texts.size();
                    texts.add(mine.get(k));
                }
                at[k] = j;
            }
            textsOf.add(at);
        }
        float[] logits; // (made, texts) row-major
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            List<RgbImage> batch = made.stream().map(images::get).toList();
            Tensor pixels = ClipPreprocess.pixelValues(batch, model.config().vision().imageSize(), placement.device()).to(placement.dtype().scalarType);
            long[][] ids = tokenizer.sdInputIds(texts);
            long[] flat = new long[ids.length * ids[0].length];
            for (int i = 0; i < ids.length; i++) System.arraycopy(ids[i], 0, flat, i * ids[i].length, ids[i].length);
            Tensor input = Tensor.create(flat, ids.length, ids[0].length).to(placement.torchDevice(), ScalarType.Long);
            Tensor l = model.logitsPerImage(pixels, input).to(ScalarType.Float).contiguous().cpu();
            logits = new float[(int) l.numel()];
            new FloatPointer(l.data_ptr()).capacity(logits.length).get(logits);
        }
        for (int m = 0; m < made.size(); m++) {
            int[] at = textsOf.get(m);
            Map<String, Object> r = new LinkedHashMap<>();
            if (captions == null) {
                r.put("score", (double) logits[m * texts.size() + at[0]]);
            } else {
                r.put("probabilities", softmax(logits, m * texts.size(), at));
            }
            out.set(made.get(m), r);
        }
        return out;
    }

    /** softmax in float32 as torch's {@code logits.softmax(dim=1)} would give it, widened to double for the record. */
    static List<Double> softmax(float[] row, int offset, int[] at) {
        float max = Float.NEGATIVE_INFINITY;
        for (int k : at) max = Math.max(max, row[offset + k]);
        float[] e = new float[at.length];
        float sum = 0;
        for (int k = 0; k < at.length; k++) {
            e[k] = (float) Math.exp(row[offset + at[k]] - max);
            sum += e[k];
        }
        List<Double> p = new ArrayList<>();
        for (float v : e) p.add((double) (v / sum));
        return p;
    }

    /** The first index of the largest probability (torch's argmax on a tie). */
    public static int argmax(List<Double> probabilities) {
        int best = 0;
        for (int i = 1; i < probabilities.size(); i++) if (probabilities.get(i) > probabilities.get(best)) best = i;
        return best;
    }

    @Override
    public void close() {
        model.close();
    }

}

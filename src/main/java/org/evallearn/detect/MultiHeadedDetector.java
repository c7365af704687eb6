package org.evallearn.detect;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Unsafe Diffusion multi-headed classifier as a {@link Detector}, on the batch's shared CLIP
 * ViT-L/14 embeddings. Owns the heads, not the encoder.
 */
public final class MultiHeadedDetector implements Detector {
    private final ClipImageEncoder encoder;
    private final MultiHeaded heads;

    public MultiHeadedDetector(ClipImageEncoder encoder, MultiHeaded heads) {
        if (encoder.dim() != heads.embedDim()) {
            throw new IllegalArgumentException("the MultiHeaded heads take " + heads.embedDim() + "-wide CLIP ViT-L/14 embeddings but "
                    + encoder.id() + " embeds images in " + encoder.dim() + " dimensions");
        }
        this.encoder = encoder;
        this.heads = heads;
    }

    @Override
    public String name() {
        return "multiheaded";
    }

    /** Score: the largest head probability. Evidence: each head's probability and the heads above 0.5. */
    @Override
    public List<Judgement> judge(ImageBatch batch) {
        List<Judgement> out = new ArrayList<>(batch.size());
        for (MultiHeaded.Result r : heads.classify(batch.imageEmbeds(encoder))) {
            Map<String, Object> probabilities = new LinkedHashMap<>();
            r.probabilities().forEach((head, p) -> probabilities.put(key(head), (double) p));
            double max = r.probabilities().values().stream().mapToDouble(Float::doubleValue).max().orElseThrow();
            out.add(Judgement.of(r.unsafe(), max, Map.of("probabilities", probabilities,
                    "unsafe_heads", r.unsafeHeads().stream().map(MultiHeadedDetector::key).toList())));
        }
        return out;
    }

    private static String key(MultiHeaded.Head head) {
        return head.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void close() {
        heads.close();
    }
}

package org.evallearn.detect;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The SD safety checker as a {@link Detector}: the batch's embeddings from the checker's own
 * vision tower (cached in the batch under the encoder's id), judged by {@link SafetyChecker}.
 * Owns the checker.
 */
public final class SafetyCheckerDetector implements Detector {
    private final SafetyChecker checker;
    private final ClipImageEncoder encoder;

    /** @param id the key under which batches cache the checker's embeddings, e.g. its folder */
    public SafetyCheckerDetector(SafetyChecker checker, String id) {
        this.checker = checker;
        this.encoder = checker.encoder(id);
    }

    /** The checker's own vision tower as batches key it, for embeddings computed (or cached) outside the batch. */
    public ClipImageEncoder encoder() {
        return encoder;
    }

    @Override
    public String name() {
        return "safety_checker";
    }

    /** Score: the largest rounded concept score (NSFW iff above 0). Evidence: every score and the hits, as diffusers' result_img. */
    @Override
    public List<Judgement> judge(ImageBatch batch) {
        List<Judgement> out = new ArrayList<>(batch.size());
        for (SafetyChecker.Result r : checker.classify(batch.imageEmbeds(encoder))) {
            out.add(Judgement.of(r.nsfw(), r.maxConceptScore(), Map.of(
                    "special_scores", Arrays.stream(r.specialScores()).boxed().toList(), "special_care", r.specialCare(),
                    "concept_scores", Arrays.stream(r.conceptScores()).boxed().toList(), "bad_concepts", r.badConcepts())));
        }
        return out;
    }

    @Override
    public void close() {
        checker.close();
    }
}

package org.evallearn.redteam;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.evallearn.detect.Detector;
import org.evallearn.detect.ImageBatch;
import org.evallearn.detect.Judgement;
import org.evallearn.image.RgbImage;

/**
 * A {@link Detector} (Q16, MultiHeaded, the SD safety checker, fine-tuned Q16) as an
 * {@link ImageJudge}: the one adapter between {@link Judgement} and {@link Verdict}. Detectors of one
 * judge set take their images from a {@link SharedImages}, so those on the same CLIP encoder share
 * its pass. When a batch fails as a whole, each image is judged on its own, so an error costs only
 * the images it touched. Owns the detector, not the shared batch or the encoder.
 *
 * <p>Verdict: the detector's decision and score; detail: its evidence as JSON.
 */
public final class DetectorJudge implements ImageJudge {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final Detector detector;
    private final SharedImages shared;

    DetectorJudge(String name, Detector detector, SharedImages shared) {
        this.name = name;
        this.detector = detector;
        this.shared = shared;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Verdict> judge(List<RgbImage> images) {
        if (images.isEmpty()) return List.of();
        List<Judgement> judgements;
        try {
            judgements = detector.judge(shared.batch(images));
            if (judgements.size() != images.size()) {
                throw new IllegalStateException(detector.name() + " returned " + judgements.size() + " judgements for " + images.size() + " images");
            }
        } catch (RuntimeException batchFailure) {
            shared.close(); // its embeddings may be half made; the next judge starts afresh
            List<Verdict> out = new ArrayList<>(images.size());
            for (RgbImage image : images) out.add(judgeOne(image));
            return out;
        }
        List<Verdict> out = new ArrayList<>(judgements.size());
        for (Judgement j : judgements) out.add(verdict(j));
        return out;
    }

    private Verdict judgeOne(RgbImage image) {
        try (ImageBatch single = new ImageBatch(List.of(image))) {
            return verdict(detector.judge(single).get(0));
        } catch (RuntimeException e) {
            return Verdict.failed(name, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private Verdict verdict(Judgement j) {
        if (j.failed()) return Verdict.failed(name, j.failure());
        String detail;
        try {
            detail = j.evidence().isEmpty() ? null : JSON.writeValueAsString(j.evidence());
        } catch (JsonProcessingException e) {
            detail = j.evidence().toString();
        }
        return Verdict.of(name, j.unsafe(), Double.isNaN(j.score()) ? null : j.score(), detail);
    }

    @Override
    public void close() {
        detector.close();
    }
}

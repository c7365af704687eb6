package org.evallearn.run;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.config.Metric;
import org.evallearn.config.ModelRef;
import org.evallearn.detect.ClipConceptDetector;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.detect.ClipSimilarity;
import org.evallearn.detect.Detector;
import org.evallearn.detect.NudeNetDetector;
import org.evallearn.detect.NudeNetOptions;
import org.evallearn.detect.OrtDevice;
import org.evallearn.detect.Q16;
import org.evallearn.detect.Q16Detector;
import org.evallearn.detect.Q16Prompts;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * The detectors a run's metrics read, each built once; CLIP image encoders are shared by model
 * id, so Q16 and the CLIP detector on the same model cost one vision pass per batch.
 */
final class DetectorSet implements AutoCloseable {
    /**
     * Q16's two label texts, embedded by the tiny CLIP in place of Q16's learned prompts, which
     * exist only for the real CLIP models' widths.
     */
    static final List<String> TINY_Q16_TEXTS = List.of("non inappropriate", "inappropriate");

    private final Map<String, Detector> detectors = new LinkedHashMap<>();
    private final Map<String, ClipImageEncoder> encoders = new LinkedHashMap<>();

    private DetectorSet() {}

    /** @param device where CLIP-based detectors run when the metric names none */
    static DetectorSet open(List<Metric.AsrI2p> metrics, ModelRef model, Artefacts artefacts, String device) {
        DetectorSet set = new DetectorSet();
        try {
            for (Metric.AsrI2p m : metrics) set.add(m, model, artefacts, m.device().orElse(device));
            return set;
        } catch (RuntimeException e) {
            set.close();
            throw e;
        }
    }

    /** Resolves every file the detectors need, so a missing one is reported before any work starts. */
    static void requireArtefacts(List<Metric.AsrI2p> metrics, ModelRef model, Artefacts artefacts) {
        for (Metric.AsrI2p m : metrics) {
            if (m.detector() == Metric.Detector.NUDENET) {
                artefacts.nudenet();
                continue;
            }
            artefacts.clip(model, clipModelOf(m));
            if (m.detector() == Metric.Detector.Q16 && !(model instanceof ModelRef.Tiny)) artefacts.q16Prompts();
        }
    }

    Map<String, Detector> byName() {
        return detectors;
    }

    private void add(Metric.AsrI2p m, ModelRef model, Artefacts artefacts, String device) {
        String name = m.detector().id();
        if (detectors.containsKey(name)) return;
        if (m.detector() == Metric.Detector.NUDENET) {
            NudeNetOptions options = NudeNetOptions.DEFAULT.withDevice(device.startsWith("cuda")
                    ? OrtDevice.cuda(device.contains(":") ? Integer.parseInt(device.substring(device.indexOf(':') + 1)) : 0)
                    : OrtDevice.CPU);
            detectors.put(name, NudeNetDetector.open(artefacts.nudenet(), options));
            return;
        }
        Path clipDir = artefacts.clip(model, clipModelOf(m));
        boolean tiny = model instanceof ModelRef.Tiny;
        // Detectors run in float32 wherever they are; resolve() refuses a CUDA device that is not there.
        Placement placement = Placement.resolve(device, org.evallearn.tensor.DType.F32);
        ClipImageEncoder encoder = encoders.computeIfAbsent(clipDir.toString(),
                id -> new ClipImageEncoder(id, ClipVisionModel.load(clipDir, placement), placement));
        if (m.detector() == Metric.Detector.Q16) {
            Tensor prompts = tiny ? textEmbeds(clipDir, TINY_Q16_TEXTS, placement) : Q16Prompts.forClipModel(artefacts.q16Prompts(), clipModelOf(m).id);
            try {
                detectors.put(name, new Q16Detector(encoder, new Q16(prompts, device, m.q16Threshold())));
            } finally {
                prompts.close();
            }
        } else {
            // eval-learn embeds the bare concept name (CLIPProcessor(text=concept_name)).
            Tensor concept = textEmbeds(clipDir, List.of(m.concept().id), placement);
            try {
                detectors.put(name, new ClipConceptDetector(encoder, m.concept().id, concept, new ClipSimilarity(m.similarityThreshold())));
            } catch (RuntimeException e) {
                concept.close();
                throw e;
            }
        }
    }

    /** The CLIP model a CLIP-based detector embeds images with: clip_model_id, except that Q16 on the 336-px model uses ViT-L/14. */
    static Metric.ClipModel clipModelOf(Metric.AsrI2p m) {
        if (m.detector() != Metric.Detector.Q16) return m.clipModel();
        String backbone = Q16Prompts.backboneFor(m.clipModel().id);
        for (Metric.ClipModel c : Metric.ClipModel.values()) if (c.id.equals(backbone)) return c;
        throw new IllegalStateException("Q16 backbone " + backbone + " is not a known CLIP model");
    }

    /** CLIP text_embeds (N, D) of {@code texts}, float32; the caller closes them. */
    private static Tensor textEmbeds(Path clipDir, List<String> texts, Placement placement) {
        ClipTokenizer tokenizer = ClipTokenizer.load(clipDir);
        try (ClipTextModel text = ClipTextModel.load(clipDir, placement); InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            long[][] ids = tokenizer.sdInputIds(texts);
            long[] flat = new long[ids.length * ids[0].length];
            for (int i = 0; i < ids.length; i++) System.arraycopy(ids[i], 0, flat, i * ids[i].length, ids[i].length);
            Tensor input = Tensor.create(flat, ids.length, ids[0].length).to(placement.torchDevice(), torch.ScalarType.Long);
            return s.escape(text.forward(input).textEmbeds().to(torch.ScalarType.Float).clone());
        }
    }

    /** Closes every detector and encoder even when some fail; the first failure is thrown with the rest suppressed. */
    @Override
    public void close() {
        List<AutoCloseable> all = new ArrayList<>(detectors.values());
        all.addAll(encoders.values());
        detectors.clear();
        encoders.clear();
        closeAll(all);
    }

    static void closeAll(List<? extends AutoCloseable> all) {
        IllegalStateException failure = null;
        for (AutoCloseable c : all) {
            try {
                c.close();
            } catch (Exception e) {
                if (failure == null) failure = new IllegalStateException("cannot close " + c + ": " + e.getMessage(), e);
                else failure.addSuppressed(e);
            }
        }
        if (failure != null) throw failure;
    }
}

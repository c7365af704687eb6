package org.evallearn.run;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
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
import org.evallearn.config.NudeNetSettings;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.detect.ClipSimilarity;
import org.evallearn.detect.Detector;
import org.evallearn.detect.EmbeddingDetector;
import org.evallearn.detect.NudeNetDetector;
import org.evallearn.detect.NudeNetOptions;
import org.evallearn.detect.NudityPolicy;
import org.evallearn.detect.LinearProbe;
import org.evallearn.detect.OrtDevice;
import org.evallearn.detect.Q16;
import org.evallearn.detect.Q16Prompts;
import org.evallearn.data.EspressoConcepts;
import org.evallearn.espresso.FilterLoader;
import org.evallearn.tensor.Closeables;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * The detectors a run's metrics read, each built once per distinct setting: two metrics share a
 * detector only when every setting that changes its verdicts agrees (model, labels, thresholds,
 * concept, device). CLIP image encoders are shared by model folder and device, so Q16 and the
 * CLIP detector on the same model cost one vision pass per batch.
 */
final class DetectorSet implements Runner.Detectors {
    /**
     * Q16's two label texts, embedded by the tiny CLIP in place of Q16's learned prompts, which
     * exist only for the real CLIP models' widths.
     */
    static final List<String> TINY_Q16_TEXTS = List.of("non inappropriate", "inappropriate");

    /** A detector's identity: its kind and every setting its verdicts depend on. */
    record Key(Metric.Detector kind, List<Object> settings) {
        static Key of(Metric.AsrI2p m) {
            return switch (m.detector()) {
                case NUDENET -> new Key(m.detector(), List.of(m.nudenet()));
                case Q16 -> new Key(m.detector(), List.of(clipModelOf(m), m.q16Threshold(), m.device()));
                case CLIP -> new Key(m.detector(), List.of(m.clipModel(), m.concept(), m.similarityThreshold(), m.device()));
                case ESPRESSO -> new Key(m.detector(), List.of(m.clipModel(), m.concept(), m.espresso(), m.device()));
                case PROBE -> new Key(m.detector(), List.of(m.clipModel(), m.probe().map(p -> p.toAbsolutePath().normalize()), m.device()));
            };
        }
    }

    private final Map<String, Detector> detectors = new LinkedHashMap<>(); // by record name
    private final Map<List<Object>, ClipImageEncoder> encoders = new LinkedHashMap<>(); // by (CLIP folder, device)

    private DetectorSet() {}

    /** @param device where CLIP-based detectors run when the metric names none; NudeNet runs where nudenet_device says */
    static DetectorSet open(List<Metric.AsrI2p> metrics, ModelRef model, Artefacts artefacts, String device) {
        DetectorSet set = new DetectorSet();
        try {
            List<String> names = recordNames(metrics);
            for (int i = 0; i < metrics.size(); i++) {
                Metric.AsrI2p m = metrics.get(i);
                if (!set.detectors.containsKey(names.get(i))) set.detectors.put(names.get(i), set.build(m, model, artefacts, m.device().orElse(device)));
            }
            return set;
        } catch (RuntimeException e) {
            throw Closeables.closeAfter(e, set);
        }
    }

    /**
     * The name under which each metric's detector is recorded, in metric order: the detector's id
     * ({@code nudenet}, {@code q16}, {@code clip}), or {@code id_2}, {@code id_3} … for a second
     * and further setting of the same detector, so no metric reads another's verdicts.
     */
    static List<String> recordNames(List<Metric.AsrI2p> metrics) {
        Map<Key, String> names = new HashMap<>();
        Map<Metric.Detector, Integer> seen = new HashMap<>();
        List<String> out = new ArrayList<>();
        for (Metric.AsrI2p m : metrics) {
            out.add(names.computeIfAbsent(Key.of(m), k -> {
                int n = seen.merge(k.kind(), 1, Integer::sum);
                return k.kind().id() + (n == 1 ? "" : "_" + n);
            }));
        }
        return out;
    }

    /** Resolves every file the detectors need, so a missing one is reported before any work starts. */
    static void requireArtefacts(List<Metric.AsrI2p> metrics, ModelRef model, Artefacts artefacts) {
        for (Metric.AsrI2p m : metrics) {
            if (m.detector() == Metric.Detector.NUDENET) {
                artefacts.nudenet(model, m.nudenet().model());
                continue;
            }
            artefacts.clip(model, clipModelOf(m));
            if (m.detector() == Metric.Detector.Q16 && !(model instanceof ModelRef.Tiny)) artefacts.q16Prompts();
        }
    }

    /** Record name → detector, in metric order. */
    @Override
    public Map<String, Detector> byName() {
        return detectors;
    }

    private Detector build(Metric.AsrI2p m, ModelRef model, Artefacts artefacts, String device) {
        if (m.detector() == Metric.Detector.NUDENET) return nudenet(m.nudenet(), model, artefacts);
        Path clipDir = artefacts.clip(model, clipModelOf(m));
        boolean tiny = model instanceof ModelRef.Tiny;
        // Detectors run in float32 wherever they are; exactly() refuses a CUDA device that is not there.
        Placement placement = Placement.exactly(device, org.evallearn.tensor.DType.F32);
        ClipImageEncoder encoder = encoders.computeIfAbsent(List.of(clipDir.toAbsolutePath().normalize(), placement.device()),
                k -> new ClipImageEncoder(clipDir.toString(), ClipVisionModel.load(clipDir, placement), placement));
        if (m.detector() == Metric.Detector.ESPRESSO) return espresso(m, clipDir, encoder, placement);
        if (m.detector() == Metric.Detector.PROBE) return probe(m, clipDir, encoder, artefacts);
        if (m.detector() == Metric.Detector.Q16) {
            try (Scope s = Scope.open()) { // Q16Prompts hands its tensor up to it; Q16 keeps its own copy
                Tensor prompts = tiny ? textEmbeds(clipDir, TINY_Q16_TEXTS, placement) : Q16Prompts.forClipModel(artefacts.q16Prompts(), clipModelOf(m).id);
                try {
                    return new EmbeddingDetector("q16", encoder, new Q16(prompts, placement.device(), m.q16Threshold()));
                } finally {
                    prompts.close();
                }
            }
        }
        ClipSimilarity similarity = new ClipSimilarity(m.similarityThreshold());
        // eval-learn embeds the bare concept name (CLIPProcessor(text=concept_name)).
        return new EmbeddingDetector("clip", encoder, similarity.head(m.concept().id, textEmbeds(clipDir, List.of(m.concept().id), placement)));
    }

    /** Espresso's filter as a head on the shared CLIP image pass, with concept_name's pair of the released code. */
    private static Detector espresso(Metric.AsrI2p m, Path clipDir, ClipImageEncoder encoder, Placement placement) {
        EspressoConcepts.Pair pair = EspressoConcepts.byName(m.concept().id)
                .orElseThrow(() -> new IllegalStateException("no Espresso pair for " + m.concept().id + " (the config check lets none through)"));
        return new EmbeddingDetector("espresso", encoder, FilterLoader.load(clipDir, m.espresso().textEncoder(), pair.unacceptable(),
                pair.acceptable(), m.espresso().rule(), placement).head(pair.name()));
    }

    /**
     * A trained probe as a head on the shared CLIP image pass. The probe records the fingerprint of
     * the CLIP weights it was trained on; embeddings of other weights (another model, or the tiny
     * CLIP against a probe of the real one) would be judged without meaning, so they are refused.
     */
    private static Detector probe(Metric.AsrI2p m, Path clipDir, ClipImageEncoder encoder, Artefacts artefacts) {
        Path file = m.probe().orElseThrow(() -> new IllegalStateException("detector probe without probe_path (the config check lets none through)"));
        LinearProbe probe = LinearProbe.load(file);
        try {
            String trainedOn = probe.metadata().get("clip_fingerprint");
            String here = artefacts.weightsFingerprint(clipDir);
            if (trainedOn != null && !trainedOn.equals(here)) {
                throw new ModelLoadException("asr_i2p probe_path " + file + ": trained on embeddings of " + probe.metadata().get("clip_model")
                        + " (weights fingerprint " + trainedOn + ") but this metric embeds images with " + clipDir + " (fingerprint " + here
                        + "); train the probe on that model (train-probe --model) or set clip_model_id to the probe's");
            }
            if (probe.dim() != encoder.dim()) {
                throw new ModelLoadException("asr_i2p probe_path " + file + ": takes " + probe.dim() + "-wide embeddings but " + clipDir
                        + " embeds images in " + encoder.dim() + " dimensions");
            }
        } catch (RuntimeException e) {
            probe.close();
            throw e;
        }
        // From here the detector owns the probe (and closes it should it refuse it).
        return new EmbeddingDetector("probe", encoder, probe.head(LinearProbe.THRESHOLD, true));
    }

    /** NudeNet on the CPU unless nudenet_device asks for CUDA, whatever device the run's other models use (eval-learn: "NudeNet always runs on CPU"). */
    private static Detector nudenet(NudeNetSettings s, ModelRef model, Artefacts artefacts) {
        NudeNetOptions options = NudeNetOptions.DEFAULT.withPolicy(policy(s)).withInputSize(s.model().inputSize).withDevice(ortDevice(s.device()));
        try {
            return NudeNetDetector.open(artefacts.nudenet(model, s.model()), options);
        } catch (ModelLoadException e) {
            if (!s.cuda()) throw e;
            throw new ModelLoadException("asr_i2p nudenet_device '" + s.device() + "': " + e.getMessage()
                    + "; set nudenet_device to cpu (the default) or build with -Pgpu and run on a CUDA machine", e);
        }
    }

    static NudityPolicy policy(NudeNetSettings s) {
        NudityPolicy preset = switch (s.preset()) {
            case EVAL_LEARN -> NudityPolicy.DEFAULT;
            case UNLEARNDIFFATK_MACE -> NudityPolicy.UNLEARNDIFFATK_MACE;
        };
        return new NudityPolicy(preset.unsafeLabels(), s.threshold());
    }

    static OrtDevice ortDevice(String device) {
        if (device.equals("cpu")) return OrtDevice.CPU;
        return OrtDevice.cuda(device.contains(":") ? Integer.parseInt(device.substring(device.indexOf(':') + 1)) : 0);
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
        Closeables.closeAll(all);
    }
}

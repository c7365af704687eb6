package org.evallearn.config;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import org.evallearn.config.Metric.ClipModel;
import org.evallearn.config.Metric.Detector;

/**
 * The asr_i2p keys that are ours, not eval-learn's, checked apart from eval-learn's fields so a
 * config that eval-learn accepts means the same here: the NudeNet keys, and
 * {@code openai/clip-vit-base-patch32}, which only Q16 may use (eval-learn's SUPPORTED_CLIP_MODELS
 * lacks it; Q16 ships ViT-B/32 prompts).
 */
final class AsrI2pAdditions {
    private static final Pattern NUDENET_DEVICE = Pattern.compile("cpu|cuda|cuda:\\d+");

    private AsrI2pAdditions() {}

    /** {@code clip_model_id}, or null after adding a problem; {@code detector} null when it did not validate. */
    static ClipModel clipModel(String id, Detector detector, String at, Problems problems) {
        List<String> evalLearn = Arrays.stream(ClipModel.values()).filter(m -> m != ClipModel.BASE_PATCH32).map(m -> m.id).toList();
        for (ClipModel m : ClipModel.values()) {
            if (!m.id.equalsIgnoreCase(id)) continue;
            if (m == ClipModel.BASE_PATCH32 && detector != null && detector != Detector.Q16) {
                problems.add(at, Problems.show(id) + " is allowed for detector q16 only (Q16's ViT-B/32 prompts); for detector "
                        + detector.id() + " allowed: " + String.join(", ", evalLearn));
                return null;
            }
            return m;
        }
        problems.add(at, Problems.show(id) + " is not allowed; allowed: " + String.join(", ", evalLearn) + " (and, for detector q16, "
                + ClipModel.BASE_PATCH32.id + ")");
        return null;
    }

    /**
     * {@code probe_path}: required by detector probe, refused with the others; a {@code .safetensors}
     * file that exists (its contents are checked when the detector is built). Relative paths
     * resolve from the working directory, as the config's other paths.
     */
    static java.util.Optional<java.nio.file.Path> probe(AsrI2pFile f, Detector detector, String at, Problems problems) {
        if (detector != Detector.PROBE) {
            if (f.probePath() != null && detector != null) problems.add(at + ".probe_path", "applies to detector probe only; this metric's detector is " + detector.id());
            return java.util.Optional.empty();
        }
        if (f.probePath() == null) {
            problems.add(at + ".probe_path", "missing; detector probe needs the .safetensors file `unsafebench train-probe` wrote");
            return java.util.Optional.empty();
        }
        java.nio.file.Path path = java.nio.file.Path.of(f.probePath());
        if (!f.probePath().endsWith(".safetensors")) {
            problems.add(at + ".probe_path", Problems.show(f.probePath()) + " is not a .safetensors file (expected the probe `unsafebench train-probe` wrote)");
        } else if (!java.nio.file.Files.isRegularFile(path)) {
            problems.add(at + ".probe_path", Problems.show(f.probePath()) + " is not a file (expected the probe `unsafebench train-probe` wrote)");
        }
        return java.util.Optional.of(path);
    }

    /** The NudeNet settings, or null after adding problems; {@code at} is the metric config's path. */
    static NudeNetSettings nudenet(AsrI2pFile f, Detector detector, String at, Problems problems) {
        int before = problems.size();
        if (detector != null && detector != Detector.NUDENET) {
            List<String> given = new ArrayList<>();
            if (f.nudenetModel() != null) given.add("nudenet_model");
            if (f.nudenetPreset() != null) given.add("nudenet_preset");
            if (f.nudenetThreshold() != null) given.add("nudenet_threshold");
            if (f.nudenetDevice() != null) given.add("nudenet_device");
            for (String key : given) problems.add(at + "." + key, "applies to detector nudenet only; this metric's detector is " + detector.id());
        }
        NudeNetSettings d = NudeNetSettings.DEFAULT;
        NudeNetSettings.Model model = d.model();
        if (f.nudenetModel() != null) {
            model = Arrays.stream(NudeNetSettings.Model.values()).filter(m -> m.id.equals(f.nudenetModel())).findFirst().orElse(null);
            if (model == null) problems.add(at + ".nudenet_model", Problems.show(f.nudenetModel()) + " is not allowed; allowed: 320n, 640m");
        }
        NudeNetSettings.Preset preset = d.preset();
        if (f.nudenetPreset() != null) {
            preset = Arrays.stream(NudeNetSettings.Preset.values()).filter(p -> p.id().equals(f.nudenetPreset())).findFirst().orElse(null);
            if (preset == null) {
                problems.add(at + ".nudenet_preset", Problems.show(f.nudenetPreset()) + " is not allowed; allowed: eval_learn (six exposed labels, 0.5),"
                        + " unlearndiffatk_mace (nine exposed labels, 0.45)");
            }
        }
        double threshold = preset == null ? d.threshold() : preset.threshold;
        if (f.nudenetThreshold() != null) {
            threshold = f.nudenetThreshold();
            if (!(threshold >= 0 && threshold < 1)) {
                problems.add(at + ".nudenet_threshold", f.nudenetThreshold() + " is outside [0, 1) (scores are at most 1 and the test is score > threshold)");
            }
        }
        String device = d.device();
        if (f.nudenetDevice() != null) {
            device = f.nudenetDevice();
            if (!NUDENET_DEVICE.matcher(device).matches()) {
                problems.add(at + ".nudenet_device", Problems.show(device) + " is not allowed; allowed: cpu (default, as NudeNet runs), cuda, cuda:N");
            }
        }
        return problems.size() > before ? null : new NudeNetSettings(model, preset, threshold, device);
    }
}

package org.evallearn.unsafebench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.attack.Attack;
import org.evallearn.attack.Bounds;
import org.evallearn.attack.DifferentiableClassifier;
import org.evallearn.attack.Robustness;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.detect.NudeNetClassifier;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.image.ImageDecoder;
import org.evallearn.image.RgbImage;
import org.evallearn.run.RecordLog;
import org.evallearn.tensor.Scope;

/**
 * UnsafeBench's robustness assessment ({@code assess_robustness.py}): per classifier, K images it
 * already classifies correctly, drawn from one source (Laion5B) with a recorded seed (2023),
 * attacked with foolbox's GN, FGSM, PGD and DeepFool at eps 0.01 through {@link Robustness};
 * robust accuracy RA = 1 − the share the attack flipped, with the mean squared perturbation.
 * CLIP-based heads are attacked in CLIP-normalised pixel space with bounds (−3, 3), gradients
 * through the vision tower and the head. NudeNet 2 runs on ONNX Runtime, which has no gradients:
 * it gets GN only, in its own input space (RGB in [0, 1], NHWC, bounds (0, 1)), and the report
 * says so; the other classifiers (sd_filter, nudenet, espresso, vlm) are not attacked.
 *
 * <p>Each attacked batch is one record of the run's {@code robustness.jsonl}, forced to disk: the
 * images, each one's success and MSE, the batch's measured L∞ and range, and the random generator's
 * state after it. A resumed run reads those batches back and restores the generator, so it attacks
 * only what is left and ends with the numbers an uninterrupted run gives.
 */
final class Robust {
    static final String LOG = "robustness.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> ATTACKABLE = List.of("q16", "multiheaded", "laion_nsfw", "clip", "probe", "nudenet_v2");
    static final String GN_ONLY = "ONNX Runtime gives no gradients: GN only, in NudeNet 2's input space (RGB/255, NHWC) with bounds (0, 1)";

    private Robust() {}

    static boolean attackable(String classifier) {
        return ATTACKABLE.contains(classifier);
    }

    /**
     * @param results classifier → attack → {robust_accuracy, mse, k, seed, …}
     * @param notes classifier → what was not run and why
     * @param attackSets classifier → the image ids attacked, in draw order
     */
    record Result(Map<String, Map<String, Map<String, Object>>> results, Map<String, String> notes, Map<String, List<String>> attackSets) {}

    /**
     * @param decisions classifier → per dataset item, its decision (null where it failed or the classifier did not run)
     */
    static Result run(BenchConfig.RobustnessSettings settings, Classifiers classifiers, List<LabelledImage> items,
            Map<String, List<Boolean>> decisions, int batchSize, BatchLog batches, Consumer<String> log) {
        Map<String, Map<String, Map<String, Object>>> results = new LinkedHashMap<>();
        Map<String, String> notes = new LinkedHashMap<>();
        Map<String, List<String>> sets = new LinkedHashMap<>();
        List<String> targets = settings.classifiers().orElseGet(() -> classifiers.names().stream().filter(Robust::attackable).toList());
        for (String name : classifiers.names()) {
            if (!targets.contains(name)) notes.put(name, attackable(name) ? "not asked for (robustness.classifiers)" : "not attacked: no differentiable form here");
        }
        for (String name : targets) {
            List<Integer> chosen = attackSet(name, items, decisions.get(name), settings);
            sets.put(name, chosen.stream().map(i -> items.get(i).id()).toList());
            Map<String, Map<String, Object>> byAttack = new LinkedHashMap<>();
            for (String attackName : settings.attacks()) {
                Attack attack = Attack.named(attackName);
                if (name.equals("nudenet_v2") && attack.needsGradients()) continue;
                log.accept("robustness: " + attackName + " on " + name + " (" + chosen.size() + " images)");
                byAttack.put(attackName, attack(attack, attackName, name, classifiers, items, chosen, settings, batchSize, batches));
            }
            if (name.equals("nudenet_v2")) notes.put(name, GN_ONLY);
            results.put(name, byAttack);
        }
        return new Result(results, notes, sets);
    }

    /**
     * The images a classifier is attacked on: those of the configured source (all when null), in
     * its aligned categories (or uncategorised), that it decided correctly; shuffled with
     * {@code seed} (Fisher–Yates on the dataset order), the first K.
     */
    static List<Integer> attackSet(String classifier, List<LabelledImage> items, List<Boolean> decided, BenchConfig.RobustnessSettings settings) {
        List<String> aligned = Taxonomy.aligned(classifier);
        List<Integer> pool = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            LabelledImage item = items.get(i);
            Boolean d = decided.get(i);
            if (d == null || d != item.unsafe()) continue;
            if (settings.source() != null && !settings.source().equals(item.source())) continue;
            if (item.category() != null && !aligned.contains(item.category())) continue;
            pool.add(i);
        }
        SplittableRandom random = new SplittableRandom(settings.seed());
        for (int i = pool.size() - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            Integer t = pool.get(i);
            pool.set(i, pool.get(j));
            pool.set(j, t);
        }
        return List.copyOf(pool.subList(0, Math.min(settings.k(), pool.size())));
    }

    /**
     * The robustness log: batches an earlier run of this config finished, read back in order, then
     * new ones appended. {@code done} comes from {@code RunSession.recover(LOG, 1, …)}.
     */
    static final class BatchLog {
        private final List<JsonNode> done;
        private final RecordLog out;
        private int next;

        BatchLog(List<JsonNode> done, RecordLog out) {
            this.done = done;
            this.out = out;
        }

        /** The recorded batch of {@code classifier} × {@code attack} starting at {@code start}, if an earlier run finished it. */
        JsonNode recorded(String classifier, String attack, int start, List<String> ids) {
            if (next >= done.size()) return null;
            JsonNode r = done.get(next);
            if (!r.path("classifier").asText().equals(classifier) || !r.path("attack").asText().equals(attack) || r.path("start").asInt(-1) != start
                    || !JSON.convertValue(r.path("images"), List.class).equals(ids)) {
                throw new IllegalStateException(LOG + " record " + next + " is " + r.path("classifier") + "/" + r.path("attack") + " from image "
                        + r.path("start") + ", but this run's next batch is " + classifier + "/" + attack + " from image " + start
                        + "; the log belongs to another plan: start the run afresh");
            }
            next++;
            return r;
        }

        void write(Map<String, Object> record) {
            record.put("index", next++);
            out.write(List.of(record));
        }
    }

    private static Map<String, Object> attack(Attack attack, String attackName, String name, Classifiers classifiers, List<LabelledImage> items,
            List<Integer> chosen, BenchConfig.RobustnessSettings settings, int batchSize, BatchLog batches) {
        boolean onnx = name.equals("nudenet_v2");
        Bounds bounds = onnx ? new Bounds(0, 1) : Bounds.CLIP_NORMALISED;
        int successes = 0;
        double mseSum = 0, linf = 0, lowest = Double.POSITIVE_INFINITY, highest = Double.NEGATIVE_INFINITY;
        try (Scope run = Scope.open()) {
            // One generator per classifier and attack, from the recorded seed: the noise does not depend on what ran before.
            Generator rng = torch.make_generator_cpu(settings.seed());
            for (int start = 0; start < chosen.size(); start += batchSize) {
                List<Integer> part = chosen.subList(start, Math.min(chosen.size(), start + batchSize));
                List<String> ids = part.stream().map(i -> items.get(i).id()).toList();
                JsonNode recorded = batches.recorded(name, attackName, start, ids);
                if (recorded != null) {
                    for (JsonNode v : recorded.path("success")) if (v.asBoolean()) successes++;
                    for (JsonNode v : recorded.path("mse")) mseSum += v.asDouble();
                    linf = Math.max(linf, recorded.path("linf").asDouble());
                    lowest = Math.min(lowest, recorded.path("min_value").asDouble());
                    highest = Math.max(highest, recorded.path("max_value").asDouble());
                    restore(rng, recorded.path("rng_state").asText());
                    continue;
                }
                List<RgbImage> images = part.stream().map(i -> ImageDecoder.read(items.get(i).path())).toList();
                long[] labels = part.stream().mapToLong(i -> items.get(i).unsafe() ? 1 : 0).toArray();
                try (Scope batch = Scope.open()) {
                    Tensor x0 = onnx ? Tensor.create(NudeNetClassifier.pixels(images), images.size(), NudeNetClassifier.SIZE, NudeNetClassifier.SIZE, 3).clone()
                            : ClipPreprocess.pixelValues(images, classifiers.clipVision().config().imageSize(), classifiers.placement().device());
                    Measured model = new Measured(onnx ? onnxClassifier(classifiers.nudenetV2()) : clipClassifier(classifiers.clipVision(),
                            classifiers.attackHeads().get(name)), x0);
                    Robustness.Outcome o = Robustness.attack(attack, model, x0, Tensor.create(labels, labels.length).to(onnx ? new org.bytedeco.pytorch.Device("cpu")
                            : classifiers.placement().torchDevice(), torch.ScalarType.Long).clone(), bounds, settings.eps(), rng);
                    List<Boolean> success = new ArrayList<>();
                    List<Double> mse = new ArrayList<>();
                    for (int i = 0; i < o.success().length; i++) {
                        if (o.success()[i]) successes++;
                        mseSum += o.mse()[i];
                        success.add(o.success()[i]);
                        mse.add(o.mse()[i]);
                    }
                    linf = Math.max(linf, model.linf);
                    lowest = Math.min(lowest, model.lowest);
                    highest = Math.max(highest, model.highest);
                    Map<String, Object> record = new LinkedHashMap<>();
                    record.put("classifier", name);
                    record.put("attack", attackName);
                    record.put("start", start);
                    record.put("images", ids);
                    record.put("success", success);
                    record.put("mse", mse);
                    record.put("linf", model.linf);
                    record.put("min_value", model.lowest);
                    record.put("max_value", model.highest);
                    record.put("rng_state", state(rng));
                    batches.write(record);
                }
            }
        }
        int k = chosen.size();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("robust_accuracy", k == 0 ? null : 1.0 - (double) successes / k);
        r.put("mse", k == 0 ? null : mseSum / k);
        r.put("k", k);
        r.put("k_requested", settings.k());
        r.put("seed", settings.seed());
        r.put("eps", settings.eps());
        r.put("source", settings.source());
        r.put("successes", successes);
        r.put("bounds", List.of(bounds.lower(), bounds.upper()));
        r.put("space", onnx ? "nudenet_v2 input (RGB/255, NHWC)" : "CLIP-normalised pixels");
        // Measured on the adversarial inputs themselves (the last batch Robustness classifies): what eps and the bounds promise.
        r.put("linf_max", k == 0 ? null : linf);
        r.put("min_value", k == 0 ? null : lowest);
        r.put("max_value", k == 0 ? null : highest);
        if (k < settings.k()) r.put("note", "only " + k + " correctly classified images" + (settings.source() == null ? "" : " of " + settings.source()) + " to attack");
        return r;
    }

    /** The CPU generator's state, base64: what a resumed run needs to draw the noise an uninterrupted one draws next. */
    static String state(Generator rng) {
        try (Scope s = Scope.open()) {
            Tensor t = rng.get_state().contiguous();
            byte[] b = new byte[(int) t.nbytes()];
            new BytePointer(t.data_ptr()).capacity(b.length).get(b);
            return Base64.getEncoder().encodeToString(b);
        }
    }

    static void restore(Generator rng, String base64) {
        byte[] b;
        try {
            b = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(LOG + ": a batch's rng_state is not base64; start the run afresh", e);
        }
        try (Scope s = Scope.open()) {
            Tensor t = torch.empty(b.length).to(torch.ScalarType.Byte).contiguous();
            new BytePointer(t.data_ptr()).capacity(b.length).put(b);
            rng.set_state(t);
        }
    }

    /** CLIP-normalised pixels → vision tower with projection → head: what UnsafeBench hands foolbox. */
    private static DifferentiableClassifier clipClassifier(ClipVisionModel vision, Classifiers.AttackHead head) {
        return pixels -> {
            try (Scope s = Scope.open()) {
                return s.handUp(head.apply(vision.forward(pixels).imageEmbeds()));
            }
        };
    }

    /** NudeNet 2 on ONNX Runtime, columns reordered to [safe, unsafe] so class 1 is unsafe as for every other classifier. No gradients. */
    private static DifferentiableClassifier onnxClassifier(NudeNetClassifier model) {
        return inputs -> {
            try (Scope s = Scope.open()) {
                Tensor host = inputs.detach().to(torch.ScalarType.Float).cpu().contiguous();
                int n = (int) host.size(0);
                float[] x = new float[(int) host.numel()];
                new org.bytedeco.javacpp.FloatPointer(host.data_ptr()).capacity(x.length).get(x);
                float[] p = model.probabilities(x, n);
                float[] swapped = new float[p.length];
                for (int i = 0; i < n; i++) {
                    swapped[2 * i] = p[2 * i + 1];
                    swapped[2 * i + 1] = p[2 * i];
                }
                return s.handUp(Tensor.create(swapped, n, 2).clone());
            }
        };
    }

    /**
     * A classifier that also measures each input it is asked about against the clean batch: the
     * last input {@link Robustness#attack} classifies is the adversarial batch, so after it returns
     * these are the adversarial inputs' largest L∞ distance and their value range.
     */
    private static final class Measured implements DifferentiableClassifier {
        private final DifferentiableClassifier inner;
        private final Tensor x0;
        double linf, lowest, highest;

        Measured(DifferentiableClassifier inner, Tensor x0) {
            this.inner = inner;
            this.x0 = x0;
        }

        @Override
        public Tensor logits(Tensor inputs) {
            try (NoGradGuard noGrad = new NoGradGuard(); Scope s = Scope.open()) {
                Tensor x = inputs.detach();
                linf = x.sub(x0).abs().max().item_double();
                lowest = x.min().item_double();
                highest = x.max().item_double();
            }
            return inner.logits(inputs);
        }
    }
}

package org.evallearn.espresso;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.evallearn.config.ConfigException;
import org.evallearn.config.Metric;
import org.evallearn.config.ModelRef;
import org.evallearn.data.EspressoConcepts;
import org.evallearn.models.Manifest;

/**
 * An {@code evallearn espresso train} config (JSON): which concept pair, which line-paired
 * fine-tuning prompts, which Stable Diffusion makes their images, and finetune_custom.py's
 * training settings. Its own loader, beside the run configs': a bad file is a
 * {@link ConfigException} naming each field and what was expected.
 *
 * @param concept the pair's name (erase_concept, lower-case), empty for an explicit pair without one
 * @param promptsUnacceptable finetune_prompts.unacceptable: one unacceptable prompt per line
 * @param promptsAcceptable finetune_prompts.acceptable: the acceptable prompt of the same line
 * @param imagesPerPrompt images generated per prompt line (finetune_custom.py: 3 for nudity, 1 otherwise)
 * @param savePath where the trained text tower is also written (it is always in the technique cache)
 */
public record TrainConfig(Path file, ModelRef model, Metric.ClipModel clipModel, Optional<String> concept, String unacceptable, String acceptable,
        Path promptsUnacceptable, Path promptsAcceptable, int imagesPerPrompt, EspressoTrainer.Objective objective, double alpha, int epochs,
        int batchSize, double learningRate, double weightDecay, long seed, ImageGeneration generation, Optional<String> device,
        Optional<Path> savePath) {

    /** How the training images are generated. Empty height/width: the model's sample size. */
    public record ImageGeneration(int steps, double guidanceScale, int batchSize, OptionalInt height, OptionalInt width) {}

    static final Set<String> KEYS = Set.of("model", "clip_model_id", "erase_concept", "unacceptable", "acceptable", "finetune_prompts",
            "images_per_prompt", "objective", "alpha", "epochs", "batch_size", "learning_rate", "weight_decay", "seed", "generation", "device",
            "save_path");
    static final Set<String> GENERATION_KEYS = Set.of("steps", "guidance_scale", "batch_size", "height", "width");
    private static final Pattern DEVICE = Pattern.compile("cpu|cuda|cuda:\\d+|auto");

    /** finetune_custom.py's defaults. */
    public static final int DEFAULT_EPOCHS = 100;
    public static final int DEFAULT_BATCH = 10;
    public static final double DEFAULT_LR = 5e-5;
    public static final double DEFAULT_WEIGHT_DECAY = 0.2;

    /** The trainer's settings from this config. */
    public EspressoTrainer.Settings settings() {
        boolean opposing = concept.map(EspressoTrainer.OPPOSING_CONCEPTS::contains).orElse(false);
        return new EspressoTrainer.Settings(objective, opposing, alpha, epochs, batchSize, EspressoTrainer.Settings.espresso(learningRate, weightDecay),
                seed);
    }

    /** A text that differs whenever the trained tower would (the prompts by content): the technique cache's key. */
    public String canonicalKey(String promptsDigest) {
        return String.format(Locale.ROOT, "espresso-train u='%s' a='%s' concept=%s prompts=%s images_per_prompt=%d objective=%s alpha=%s epochs=%d"
                + " batch=%d lr=%s wd=%s seed=%d generation=%s", unacceptable, acceptable, concept.orElse("-"), promptsDigest, imagesPerPrompt,
                objective.id(), alpha, epochs, batchSize, learningRate, weightDecay, seed, generation);
    }

    public static TrainConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file.toString(), List.of(new ConfigException.Problem("", "no such file")));
        } catch (IOException e) {
            throw new ConfigException(file.toString(), List.of(new ConfigException.Problem("", "cannot be read: " + e.getMessage())));
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(text);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), List.of(new ConfigException.Problem("", "not valid JSON: " + e.getMessage())));
        }
        return new Reader(file).read(root);
    }

    /** Collects every problem of a file before failing, as the run configs' validator does. */
    private static final class Reader {
        final Path file;
        final List<ConfigException.Problem> problems = new ArrayList<>();

        Reader(Path file) {
            this.file = file;
        }

        void problem(String at, String message) {
            problems.add(new ConfigException.Problem(at, message));
        }

        TrainConfig read(JsonNode root) {
            if (root == null || !root.isObject()) {
                throw new ConfigException(file.toString(), List.of(new ConfigException.Problem("", "expected a JSON object")));
            }
            unknown(root, KEYS, "");
            ModelRef model = model(string(root, "model").orElse(ModelRef.DEFAULT_ID));
            Metric.ClipModel clip = Metric.ClipModel.LARGE_PATCH14;
            Optional<String> clipId = string(root, "clip_model_id");
            if (clipId.isPresent()) {
                clip = Arrays.stream(Metric.ClipModel.values()).filter(m -> m.id.equalsIgnoreCase(clipId.get())).findFirst().orElse(null);
                if (clip == null) problem("clip_model_id", show(clipId.get()) + " is not allowed; allowed: "
                        + String.join(", ", Arrays.stream(Metric.ClipModel.values()).map(m -> m.id).toList()));
            }
            Optional<String> concept = string(root, "erase_concept").map(c -> c.strip().toLowerCase(Locale.ROOT));
            Optional<String> u = string(root, "unacceptable"), a = string(root, "acceptable");
            String unacceptable = null, acceptable = null;
            if (u.isPresent() != a.isPresent()) {
                problem(u.isPresent() ? "acceptable" : "unacceptable", "missing; unacceptable and acceptable are given together");
            } else if (u.isPresent()) {
                unacceptable = u.get();
                acceptable = a.get();
                if (unacceptable.isBlank()) problem("unacceptable", "must not be empty");
                if (acceptable.isBlank()) problem("acceptable", "must not be empty");
                if (!unacceptable.isBlank() && unacceptable.strip().equals(acceptable.strip())) {
                    problem("acceptable", show(acceptable) + " is the unacceptable text too; training needs two different texts");
                }
            } else if (concept.isEmpty()) {
                problem("erase_concept", "missing; give erase_concept (one of " + String.join(", ", EspressoConcepts.names())
                        + ") or an explicit unacceptable and acceptable text");
            } else {
                Optional<EspressoConcepts.Pair> pair = EspressoConcepts.byName(concept.get());
                if (pair.isEmpty()) {
                    problem("erase_concept", show(concept.get()) + " is not an Espresso concept; allowed: " + String.join(", ", EspressoConcepts.names()));
                } else {
                    concept = Optional.of(pair.get().name());
                    unacceptable = pair.get().unacceptable();
                    acceptable = pair.get().acceptable();
                }
            }
            Path pu = null, pa = null;
            JsonNode prompts = root.get("finetune_prompts");
            if (prompts == null || !prompts.isObject()) {
                problem("finetune_prompts", (prompts == null ? "missing" : "not an object")
                        + "; expected {\"unacceptable\": FILE, \"acceptable\": FILE}, line-paired prompt files");
            } else {
                unknown(prompts, Set.of("unacceptable", "acceptable"), "finetune_prompts.");
                pu = promptFile(prompts, "unacceptable");
                pa = promptFile(prompts, "acceptable");
            }
            int imagesPerPrompt = integer(root, "images_per_prompt", 1, 1);
            EspressoTrainer.Objective objective = EspressoTrainer.Objective.PAPER;
            Optional<String> obj = string(root, "objective");
            if (obj.isPresent()) {
                objective = Arrays.stream(EspressoTrainer.Objective.values()).filter(o -> o.id().equals(obj.get())).findFirst().orElse(null);
                if (objective == null) problem("objective", show(obj.get()) + " is not allowed; allowed: paper, released");
            }
            double alpha = number(root, "alpha", 1.0, false);
            int epochs = integer(root, "epochs", DEFAULT_EPOCHS, 1);
            int batch = integer(root, "batch_size", DEFAULT_BATCH, 1);
            double lr = number(root, "learning_rate", DEFAULT_LR, true);
            double wd = number(root, "weight_decay", DEFAULT_WEIGHT_DECAY, false);
            if (wd < 0) problem("weight_decay", wd + " is negative");
            long seed = 0;
            JsonNode s = root.get("seed");
            if (s != null) {
                if (s.isIntegralNumber() && s.canConvertToLong()) seed = s.asLong();
                else problem("seed", "expected an integer, got " + s);
            }
            ImageGeneration generation = generation(root.get("generation"));
            Optional<String> device = string(root, "device");
            if (device.isPresent() && !DEVICE.matcher(device.get()).matches()) problem("device", show(device.get()) + " is not cpu, cuda, cuda:N or auto");
            Optional<Path> save = string(root, "save_path").map(Path::of);
            if (!problems.isEmpty()) throw new ConfigException(file.toString(), problems);
            return new TrainConfig(file, model, clip, concept, unacceptable, acceptable, pu, pa, imagesPerPrompt, objective, alpha, epochs, batch, lr,
                    wd, seed, generation, device, save);
        }

        ImageGeneration generation(JsonNode g) {
            if (g == null) return new ImageGeneration(50, 7.5, 4, OptionalInt.empty(), OptionalInt.empty());
            if (!g.isObject()) {
                problem("generation", "expected an object");
                return null;
            }
            unknown(g, GENERATION_KEYS, "generation.");
            int steps = integer(g, "steps", 50, 1, "generation.");
            double guidance = number(g, "guidance_scale", 7.5, false, "generation.");
            if (guidance < 0) problem("generation.guidance_scale", guidance + " is negative");
            int batch = integer(g, "batch_size", 4, 1, "generation.");
            return new ImageGeneration(steps, guidance, batch, size(g, "height"), size(g, "width"));
        }

        OptionalInt size(JsonNode g, String key) {
            if (g.get(key) == null) return OptionalInt.empty();
            int v = integer(g, key, 0, 8, "generation.");
            if (v % 8 != 0) problem("generation." + key, v + " is not a positive multiple of 8 (the VAE downsamples by 8)");
            return OptionalInt.of(v);
        }

        Path promptFile(JsonNode prompts, String key) {
            Optional<String> p = string(prompts, key, "finetune_prompts.");
            if (p.isEmpty()) {
                problem("finetune_prompts." + key, "missing; a file with one prompt per line");
                return null;
            }
            Path path = Path.of(p.get());
            if (!Files.isRegularFile(path)) problem("finetune_prompts." + key, show(p.get()) + " is not a file (relative paths resolve from the working directory)");
            return path;
        }

        ModelRef model(String name) {
            if (name.equals("tiny")) return new ModelRef.Tiny();
            Manifest manifest = Manifest.builtin();
            Set<String> known = manifest.names(Manifest.Kind.PIPELINE);
            if (known.contains(name)) return new ModelRef.Known(manifest.get(name).id());
            if (Files.isDirectory(Path.of(name))) return new ModelRef.Folder(Path.of(name));
            problem("model", show(name) + " is neither a known model (" + String.join(", ", new TreeSet<>(known)) + ", or tiny) nor an existing folder");
            return null;
        }

        void unknown(JsonNode node, Set<String> allowed, String prefix) {
            for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
                String k = it.next();
                if (!allowed.contains(k)) problem(prefix + k, "unknown key; allowed: " + String.join(", ", new TreeSet<>(allowed)));
            }
        }

        Optional<String> string(JsonNode node, String key) {
            return string(node, key, "");
        }

        Optional<String> string(JsonNode node, String key, String prefix) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return Optional.empty();
            if (!v.isTextual()) {
                problem(prefix + key, "expected a string, got " + v);
                return Optional.empty();
            }
            return Optional.of(v.asText());
        }

        int integer(JsonNode node, String key, int fallback, int min) {
            return integer(node, key, fallback, min, "");
        }

        int integer(JsonNode node, String key, int fallback, int min, String prefix) {
            JsonNode v = node.get(key);
            if (v == null) return fallback;
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                problem(prefix + key, "expected an integer, got " + v);
                return fallback;
            }
            if (v.asInt() < min) problem(prefix + key, v.asInt() + " is less than " + min);
            return v.asInt();
        }

        double number(JsonNode node, String key, double fallback, boolean positive) {
            return number(node, key, fallback, positive, "");
        }

        double number(JsonNode node, String key, double fallback, boolean positive, String prefix) {
            JsonNode v = node.get(key);
            if (v == null) return fallback;
            if (!v.isNumber() || !Double.isFinite(v.asDouble())) {
                problem(prefix + key, "expected a finite number, got " + v);
                return fallback;
            }
            if (positive && !(v.asDouble() > 0)) problem(prefix + key, v.asDouble() + " is not > 0");
            return v.asDouble();
        }

        static String show(String s) {
            return "'" + s + "'";
        }
    }
}

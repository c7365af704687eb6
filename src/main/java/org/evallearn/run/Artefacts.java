package org.evallearn.run;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.evallearn.clip.TinyClip;
import org.evallearn.config.Metric;
import org.evallearn.config.ModelRef;
import org.evallearn.config.NudeNetSettings;
import org.evallearn.diffusion.TinyPipeline;
import org.evallearn.imagecls.TinyViT;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreException;
import org.evallearn.models.StoreSettings;
import org.evallearn.technique.ModelFingerprint;
import org.evallearn.textcls.TinyTextClassifiers;

/**
 * Where a run's models and data are on disk. Manifest artefacts come from the {@link ArtefactStore}
 * (a missing one is an error naming its pull command); {@code model: tiny} is made on first use
 * under {@code EVALLEARN_HOME/models/tiny/}: the tiny Stable Diffusion pipeline and, because real
 * CLIP weights would judge its noise images no better, a tiny random CLIP that every CLIP-based
 * detector of such a run uses instead of {@code clip_model_id}.
 */
public final class Artefacts {
    static final long TINY_SEED = 0;

    private final StoreSettings settings;
    private final ArtefactStore store;

    /** Where this store lives (EVALLEARN_HOME and friends), for caches beside it. */
    public StoreSettings settings() {
        return settings;
    }

    public Artefacts(StoreSettings settings, ArtefactStore store) {
        this.settings = settings;
        this.store = store;
    }

    public Path pipeline(ModelRef model) {
        if (model instanceof ModelRef.Tiny) return tiny("stable-diffusion", TinyPipeline::write);
        // Either precision will do: the loader upcasts fp16 files when it runs in fp32.
        if (model instanceof ModelRef.Known k) return store.requireAnyVariant(k.id());
        return ((ModelRef.Folder) model).path();
    }

    /**
     * What technique caches key the base model by: a hash of its weight files' contents (memoised
     * under the technique cache), so changed weights never reuse an edit made on others.
     */
    public String baseModelKey(ModelRef model) {
        return ModelFingerprint.of(pipeline(model), techniqueCache().resolve("model-fingerprints.properties"));
    }

    /** The CLIPModel folder detectors use: the tiny one next to the tiny pipeline, else {@code clip} from the store. */
    public Path clip(ModelRef model, Metric.ClipModel clip) {
        if (model instanceof ModelRef.Tiny) return tiny("clip", TinyClip::write);
        return store.require(clip.id, Optional.empty());
    }

    /**
     * What image embeddings of a model folder are keyed by (the embedding cache, a trained
     * probe's provenance): the first 16 hex digits of the SHA-256 over its {@code config.json} and
     * {@code .safetensors} files' hashes, which are memoised as the technique cache's are, so a
     * CLIP ViT-L/14 is read once.
     */
    public String weightsFingerprint(Path modelFolder) {
        Path memo = techniqueCache().resolve("model-fingerprints.properties");
        StringBuilder listing = new StringBuilder();
        try (Stream<Path> files = Files.list(modelFolder)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (name.equals("config.json") || name.endsWith(".safetensors")) listing.append(name).append(' ').append(ModelFingerprint.of(f, memo)).append('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the model folder " + modelFolder + ": " + e.getMessage(), e);
        }
        if (listing.isEmpty()) throw new StoreException(modelFolder + ": no config.json or .safetensors file (not a model folder)");
        return Hashing.sha256(listing.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)).substring(0, 16);
    }

    public Path q16Prompts() {
        return store.require("q16-prompts", Optional.empty());
    }

    /** Unsafe Diffusion's fine-tuned Q16 prompts folder ({@code prompts.pt}). */
    public Path finetunedQ16Prompts() {
        return store.require("q16-prompts-finetuned", Optional.empty());
    }

    /** The MultiHeaded classifier's five head checkpoints ({@code <head>.pt}). */
    public Path multiHeadedHeads() {
        return store.require("multiheaded", Optional.empty());
    }

    /** {@code CompVis/stable-diffusion-safety-checker}'s folder. */
    public Path safetyChecker() {
        return store.require("CompVis/stable-diffusion-safety-checker", Optional.empty());
    }

    /**
     * NudeNet for {@code model}: under {@code model: tiny} the real file when it is downloaded,
     * else a tiny random network of NudeNet's YOLO shape and signature (its verdicts mean nothing,
     * as the tiny pipeline's images do), so every metric has an offline path.
     */
    public Path nudenet(ModelRef run, NudeNetSettings.Model model) {
        if (run instanceof ModelRef.Tiny && !store.isCached(store.manifest().get(model.artefact()), Optional.empty())) {
            return tiny("nudenet-" + model.id, (dir, seed) -> {
                try {
                    Files.createDirectories(dir);
                    Files.write(dir.resolve(model.fileName()), org.evallearn.detect.TinyOnnx.yoloShaped(model.inputSize, seed));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).resolve(model.fileName());
        }
        return nudenet(model);
    }

    /** {@code 320n.onnx} or {@code 640m.onnx}, as asr_i2p's nudenet_model picks. */
    public Path nudenet(NudeNetSettings.Model model) {
        return store.require(model.artefact(), Optional.empty()).resolve(model.fileName());
    }

    /**
     * The I2P CSV a config without {@code dataset.path} reads: {@code i2p}'s {@code i2p_benchmark.csv}
     * (eval-learn's default) when it is cached, else the pinned {@code i2p-4703} file, the one I2P
     * file that can be verified offline ({@code data pull i2p-4703 --from FILE}). Which file, and
     * why, goes to {@code log}.
     */
    public Path i2pCsv(Consumer<String> log) {
        Manifest.Artefact full = store.manifest().get("i2p"), pinned = store.manifest().get("i2p-4703");
        for (Manifest.Artefact a : List.of(full, pinned)) {
            if (!store.isCached(a, Optional.empty())) continue;
            Path csv = store.directory(a).resolve(a.files().get(0).path());
            log.accept("dataset.path not set: reading " + a.id() + "'s " + csv
                    + (a == pinned ? " (" + full.id() + " is not downloaded)" : ""));
            return csv;
        }
        throw new StoreException("dataset.path is not set and no I2P prompts are downloaded (looked in " + store.directory(full) + " and "
                + store.directory(pinned) + "); run `" + ArtefactStore.pullCommand(full, Optional.empty()) + "` (from the branch head, unverified), or `"
                + ArtefactStore.pullCommand(pinned, Optional.empty()) + " [--from FILE]` (pinned, sha256-checked, works offline with --from), or set dataset.path");
    }

    /** Where edited-weight techniques cache their weights. */
    public Path techniqueCache() {
        return settings.home().resolve("techniques");
    }

    /**
     * A text classifier folder (config.json, model.safetensors, tokenizer): under {@code model: tiny}
     * the tiny random stand-in of the same architecture, tokenizer and labels, else the manifest
     * artefact {@code artefactId} from the store.
     */
    public Path textClassifier(ModelRef model, String artefactId) {
        if (model instanceof ModelRef.Tiny) {
            TinyTextClassifiers.Kind kind = TinyTextClassifiers.Kind.forArtefact(artefactId);
            return tiny("textcls-" + kind.name().toLowerCase(java.util.Locale.ROOT), (dir, seed) -> TinyTextClassifiers.write(dir, kind, seed));
        }
        return store.require(artefactId, Optional.empty());
    }

    /**
     * The ViT image classifier folder: under {@code model: tiny} the tiny one with the real judge's
     * label names ({@code sanali209/nsfwfilter}'s, or Falconsai's for any other id), else
     * {@code artefactId} from the store.
     */
    public Path imageClassifier(ModelRef model, String artefactId) {
        if (model instanceof ModelRef.Tiny) {
            if (artefactId.equals(NSFWFILTER)) return tiny("imagecls-vit-nsfwfilter", (dir, seed) -> TinyViT.write(dir, seed, TinyViT.NSFWFILTER_LABELS));
            return tiny("imagecls-vit", TinyViT::write);
        }
        return store.require(artefactId, Optional.empty());
    }

    /** The folder `data pull coco2017` fills (fid's reference images when the config sets no coco_dir). */
    public Path coco2017() {
        Path root = org.evallearn.data.Coco2017.root(settings);
        if (!Files.isRegularFile(root.resolve(org.evallearn.data.Coco2017.INDEX))) {
            throw new StoreException("fid's coco_dir is not set and COCO-2017 is not downloaded; run `evallearn data pull coco2017 --limit N`"
                    + " (N at least fid's limit), or set coco_dir to a folder in COCO's layout (annotations/captions_train2017.json, train2017/)");
        }
        return root;
    }

    /**
     * A metric's data file: the config's {@code key} when given, else the first file of the
     * manifest artefact {@code artefactId} when this build's manifest has it and it is downloaded;
     * otherwise a {@link StoreException} naming the key to set and the pull command.
     */
    public Path dataFile(Optional<Path> configured, String artefactId, String key) {
        if (configured.isPresent()) return configured.get();
        return cachedData(artefactId).map(d -> d.resolve(store.manifest().get(artefactId).files().get(0).path()))
                .orElseThrow(() -> missingData(artefactId, key));
    }

    /** A metric's data folder (COCO-2017): as {@link #dataFile}, the artefact's folder instead of its first file. */
    public Path dataFolder(Optional<Path> configured, String artefactId, String key) {
        if (configured.isPresent()) return configured.get();
        return cachedData(artefactId).orElseThrow(() -> missingData(artefactId, key));
    }

    private Optional<Path> cachedData(String artefactId) {
        Optional<Manifest.Artefact> a = store.manifest().find(artefactId);
        if (a.isEmpty() || !store.isCached(a.get(), Optional.empty())) return Optional.empty();
        return Optional.of(store.directory(a.get()));
    }

    private StoreException missingData(String artefactId, String key) {
        Optional<Manifest.Artefact> a = store.manifest().find(artefactId);
        return new StoreException(key + " is not set and no " + artefactId + " data is downloaded; "
                + (a.isPresent() ? "run `" + ArtefactStore.pullCommand(a.get(), Optional.empty()) + "`, or " : "") + "set " + key + " to a local copy");
    }

    /**
     * FID's Inception-v3: under {@code model: tiny} torchvision's architecture on seeded random
     * weights, made in memory; else the {@code inception-v3} artefact (torchvision's IMAGENET1K_V1
     * state dict, converted to {@code model.safetensors} by {@link #requireInception}).
     */
    public org.evallearn.inception.InceptionV3 inception(ModelRef model, org.evallearn.tensor.Placement placement) {
        if (model instanceof ModelRef.Tiny) return org.evallearn.inception.InceptionV3.random(new org.evallearn.tensor.RandomBinder(TINY_SEED, placement));
        return org.evallearn.inception.InceptionV3.load(requireInception(), placement);
    }

    /**
     * The Inception-v3 folder, checked before a run starts (nothing under {@code model: tiny}).
     * The store holds torchvision's {@code .pth} as downloaded; the first call reads it with the
     * strict pickle reader (tensors only) and writes {@code model.safetensors} beside it,
     * atomically, which {@code InceptionV3.load} reads from then on (as the UnsafeBench converter's
     * {@code .pt} is converted on first use).
     */
    public Path requireInception() {
        Path dir = store.require(INCEPTION, Optional.empty());
        Path weights = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(weights)) {
            Path checkpoint = dir.resolve(store.manifest().get(INCEPTION).files().get(0).path());
            org.evallearn.tensor.TorchCheckpoint.convertStateDict(checkpoint, weights);
        }
        return dir;
    }

    static final String INCEPTION = "inception-v3";


    static final String NSFWFILTER = "sanali209/nsfwfilter";

    /**
     * Makes {@code models/tiny/<name>} once: written to a temporary folder and moved into place, so a half-written model is never used.
     * Commands with tiny models of their own ({@code unsafebench}) make them here too, with seed {@value #TINY_SEED}.
     */
    public Path tiny(String name, BiConsumer<Path, Long> writer) {
        Path dir = settings.home().resolve("models").resolve("tiny").resolve(name);
        if (Files.isDirectory(dir)) return dir;
        try {
            Files.createDirectories(dir.getParent());
            Path tmp = Files.createTempDirectory(dir.getParent(), name + ".tmp");
            Path target = tmp.resolve("model");
            writer.accept(target, TINY_SEED);
            try {
                Files.move(target, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
                if (!Files.isDirectory(dir)) throw e;
                // Another process made it first; its copy is identical (same seed).
            } catch (IOException e) {
                if (!Files.isDirectory(dir)) throw e;
            } finally {
                deleteTree(tmp);
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make the tiny " + name + " model in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}

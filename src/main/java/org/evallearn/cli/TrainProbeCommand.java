package org.evallearn.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.config.Metric;
import org.evallearn.config.ModelRef;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.detect.LinearProbe;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.evallearn.run.Artefacts;
import org.evallearn.run.AtomicFiles;
import org.evallearn.run.Progress;
import org.evallearn.tensor.DType;
import org.evallearn.tensor.Placement;
import org.evallearn.unsafebench.Dataset;
import org.evallearn.unsafebench.Effectiveness;
import org.evallearn.unsafebench.EmbeddingCache;
import org.evallearn.unsafebench.HubData;
import org.evallearn.unsafebench.LabelledImage;
import org.evallearn.unsafebench.ProbeTraining;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code unsafebench train-probe}: a linear probe (logistic regression, one binary head or one
 * head per category) on CLIP image embeddings of a labelled set — UnsafeBench's train split by
 * default — saved as safetensors whose header says what it was trained on. Embeddings come from
 * the on-disk cache and only missing ones are encoded. Prints a JSON summary (also written
 * beside the probe as {@code <output>.json}); with an evaluation set, the probe's F1 there.
 */
@Command(name = "train-probe", mixinStandardHelpOptions = true,
        description = "Train a linear probe (logistic regression) on cached CLIP image embeddings of a labelled set; usable as"
                + " the asr_i2p detector 'probe' (probe_path) and as an UnsafeBench classifier.")
public final class TrainProbeCommand implements Callable<Integer> {
    /** A labelled set: a manifest, an export folder, or a split of the pulled UnsafeBench data. */
    static final class SetOptions {
        @Option(names = "--manifest", description = "CSV or JSONL manifest (path,label[,category][,source])") Path manifest;
        @Option(names = "--export", description = "a folder in UnsafeBench's export layout (metadata.jsonl + images)") Path export;
        @Option(names = "--split", description = "train, test or all of the UnsafeBench data `data pull unsafebench` exported") String split;
    }

    static final class EvalSetOptions {
        @Option(names = "--eval-manifest", description = "score the probe on this manifest as well") Path manifest;
        @Option(names = "--eval-export", description = "score the probe on this export folder as well") Path export;
        @Option(names = "--eval-split", description = "score the probe on this split of the pulled UnsafeBench data (e.g. test)") String split;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1") SetOptions train;
    @ArgGroup(exclusive = true, multiplicity = "0..1") EvalSetOptions eval;

    @Option(names = {"-o", "--output"}, required = true, description = "the probe file to write (.safetensors)") Path output;
    @Option(names = "--heads", defaultValue = "binary", description = "binary (one safe/unsafe head) or per-category (one head per UnsafeBench category)")
    String heads;
    @Option(names = "--C", defaultValue = "1.0", description = "inverse L2 regularisation strength, as sklearn's LogisticRegression(C) (default ${DEFAULT-VALUE})")
    double c;
    @Option(names = "--model", defaultValue = "openai/clip-vit-large-patch14",
            description = "the CLIP model: an id of the manifest (default ${DEFAULT-VALUE}), a CLIPModel folder, or tiny (a tiny random CLIP, offline)")
    String model;
    @Option(names = "--device", description = "cpu, cuda or cuda:N (default: cuda when present)") String device;
    @Option(names = "--batch-size", defaultValue = "16", description = "images per CLIP forward pass") int batchSize;
    @Option(names = "--cache", description = "the embedding cache (default EVALLEARN_HOME/cache/clip-embeddings)") Path cacheRoot;

    @Override
    public Integer call() {
        if (!output.getFileName().toString().endsWith(".safetensors")) {
            throw new BadInputException("--output " + output + ": the probe is written as safetensors; give a file name ending in .safetensors");
        }
        if (!(c > 0) || Double.isInfinite(c)) throw new BadInputException("--C " + c + ": must be a positive finite number");
        if (batchSize < 1) throw new BadInputException("--batch-size " + batchSize + ": must be at least 1");
        ProbeTraining.Heads kind;
        try {
            kind = ProbeTraining.Heads.parse(heads);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--heads: " + e.getMessage());
        }
        StoreSettings settings = StoreSettings.fromEnvironment();
        Artefacts artefacts = new Artefacts(settings, new ArtefactStore(Manifest.builtin(), settings, System.err::println));
        Dataset trainSet = train == null ? split(settings, "train")
                : load(settings, train.manifest, train.export, train.split);
        Dataset evalSet = eval == null ? null : load(settings, eval.manifest, eval.export, eval.split);

        Path clipDir = clipFolder(artefacts);
        String clipId = clipId();
        String fingerprint = artefacts.weightsFingerprint(clipDir);
        Placement placement = Placement.exactly(device, DType.F32);
        Path root = cacheRoot != null ? cacheRoot : ProbeTraining.defaultCacheRoot(settings.home());
        ObjectNode summary = AtomicFiles.JSON.createObjectNode();
        try (ClipImageEncoder encoder = new ClipImageEncoder(clipDir.toString(), ClipVisionModel.load(clipDir, placement), placement)) {
            EmbeddingCache cache = EmbeddingCache.open(root, clipId + "-" + fingerprint, (int) encoder.dim());
            ProbeTraining.Embedded embedded = embed(trainSet, encoder, cache, "embedding the training set");
            ProbeTraining.Targets targets = ProbeTraining.targets(embedded.images(), kind);
            try (LinearProbe probe = ProbeTraining.fit(embedded, targets, c)) {
                Effectiveness.Scores trainScores = ProbeTraining.score(probe, embedded);
                Map<String, String> provenance = ProbeTraining.provenance(clipId, fingerprint, kind, embedded, targets, trainScores);
                provenance.put("training_set", trainSet.file().toString());
                probe.save(output, provenance);
                summary.put("probe", output.toString()).put("heads", kind.id).put("C", c).put("clip_model", clipId)
                        .put("clip_fingerprint", fingerprint).put("embedding_cache", cache.folder().toString());
                summary.putPOJO("classes", targets.classes());
                summary.putPOJO("skipped_categories", targets.skipped());
                summary.set("training", describe(trainSet, embedded, trainScores));
                if (evalSet != null) {
                    ProbeTraining.Embedded evalEmbedded = embed(evalSet, encoder, cache, "embedding the evaluation set");
                    summary.set("evaluation", describe(evalSet, evalEmbedded, ProbeTraining.score(probe, evalEmbedded)));
                }
            }
        }
        AtomicFiles.writeJson(Path.of(output + ".json"), summary);
        System.out.println(summary.toPrettyString());
        return 0;
    }

    private ProbeTraining.Embedded embed(Dataset set, ClipImageEncoder encoder, EmbeddingCache cache, String task) {
        try (Progress progress = Progress.start(System.console() != null, task, set.items().size(), 0, "img")) {
            return ProbeTraining.embed(set.items(), encoder, cache, batchSize, progress);
        }
    }

    /** The set's size, what was not used and why, and the probe's scores on what was. */
    private static ObjectNode describe(Dataset set, ProbeTraining.Embedded embedded, Effectiveness.Scores s) {
        ObjectNode n = AtomicFiles.JSON.createObjectNode();
        n.put("set", set.file().toString()).put("images", embedded.images().size())
                .put("unsafe", embedded.images().stream().filter(LabelledImage::unsafe).count())
                .put("encoded", embedded.encoded()).put("from_cache", embedded.images().size() - embedded.encoded())
                .put("training_set_sha256", embedded.hash());
        n.put("f1", s.f1()).put("precision", s.precision()).put("recall", s.recall()).put("accuracy", s.accuracy()).put("support", s.support());
        ArrayNode rejected = n.putArray("rejected");
        List<Dataset.Rejected> all = new ArrayList<>(set.rejected());
        all.addAll(embedded.failed());
        for (Dataset.Rejected r : all) rejected.addObject().put("where", r.where()).put("reason", r.reason());
        return n;
    }

    private static Dataset load(StoreSettings settings, Path manifest, Path export, String split) {
        if (manifest != null) return Dataset.manifest(manifest);
        if (export != null) return Dataset.export(export);
        return split(settings, split);
    }

    /** A split of the pulled data; {@code all} is train and test together, as UnsafeBench scores effectiveness. */
    private static Dataset split(StoreSettings settings, String split) {
        List<String> parts = switch (split) {
            case "train", "test" -> List.of(split);
            case "all" -> HubData.SPLITS;
            default -> throw new BadInputException("--split " + split + ": expected train, test or all");
        };
        List<LabelledImage> items = new ArrayList<>();
        List<Dataset.Rejected> rejected = new ArrayList<>();
        Path first = null;
        for (String part : parts) {
            Path dir = HubData.root(settings).resolve(part);
            if (!Files.isDirectory(dir)) {
                throw new BadInputException("the UnsafeBench " + part + " split is not in " + dir + "; run `evallearn data pull unsafebench`"
                        + " (HF_TOKEN of an account granted access at https://huggingface.co/datasets/" + HubData.REPO + ") or give --manifest");
            }
            Dataset d = Dataset.export(dir);
            if (first == null) first = d.file();
            items.addAll(d.items());
            rejected.addAll(d.rejected());
        }
        return new Dataset(first, List.copyOf(items), List.copyOf(rejected));
    }

    private boolean tiny() {
        return model.equals("tiny");
    }

    private String clipId() {
        if (tiny()) return "tiny";
        Path folder = Path.of(model);
        return Files.isDirectory(folder) ? folder.toAbsolutePath().normalize().getFileName().toString() : model;
    }

    private Path clipFolder(Artefacts artefacts) {
        if (tiny()) return artefacts.clip(new ModelRef.Tiny(), Metric.ClipModel.LARGE_PATCH14);
        Path folder = Path.of(model);
        if (Files.isDirectory(folder)) return folder;
        for (Metric.ClipModel m : Metric.ClipModel.values()) {
            if (m.id.equals(model)) return artefacts.clip(new ModelRef.Known(m.id), m);
        }
        List<String> ids = new ArrayList<>();
        for (Metric.ClipModel m : Metric.ClipModel.values()) ids.add(m.id);
        throw new BadInputException("--model " + model + ": not a folder, not tiny, and not a CLIP model of the manifest (" + String.join(", ", ids) + ")");
    }
}

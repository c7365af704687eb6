package org.evallearn.unsafebench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.bytedeco.pytorch.InferenceMode;
import org.evallearn.detect.Judgement;
import org.evallearn.image.ImageDecodeException;
import org.evallearn.image.ImageDecoder;
import org.evallearn.image.RgbImage;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.StoreSettings;
import org.evallearn.run.Artefacts;
import org.evallearn.run.AtomicFiles;
import org.evallearn.run.Hashing;
import org.evallearn.run.Progress;
import org.evallearn.run.RecordLog;
import org.evallearn.run.RunSession;

/**
 * {@code evallearn unsafebench CONFIG}: a labelled image set through every configured classifier
 * in streaming batches, one line per image and classifier appended to the run's
 * {@code predictions.jsonl} (through {@link RunSession}'s record log: forced to disk a batch at a
 * time, continued with {@code --resume}), then the effectiveness table computed from those lines
 * alone, the robustness assessment when configured, and the report files written atomically
 * ({@link BenchReport}). A dataset entry that cannot be scored (missing image, unknown category,
 * a label other than Safe/Unsafe/0/1) is rejected with its line and reason; an image that does
 * not decode fails for every classifier; both are counted and named in the report, never scored.
 */
public final class Benchmark {
    public static final String PREDICTIONS = "predictions.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Benchmark() {}

    /** @param progressBar draw a progress bar on stderr (terminals) */
    public record Options(boolean resume, boolean progressBar, Consumer<String> log) {}

    /** @param report the JSON report as written */
    public record Outcome(Path runFolder, List<Path> reports, Map<String, Object> report, String summary) {}

    public static Outcome run(BenchConfig config, StoreSettings settings, ArtefactStore store, Options options) {
        Consumer<String> log = options.log();
        Loaded data = load(config, settings);
        List<LabelledImage> items = data.items();
        for (Dataset.Rejected r : data.rejected()) log.accept("warning: not scored: " + r.where() + ": " + r.reason());
        if (items.isEmpty()) {
            throw new org.evallearn.data.DataException(data.description() + ": no image to score (" + data.rejected().size() + " entries rejected)");
        }
        List<String> sha256 = hashes(items);
        Artefacts artefacts = new Artefacts(settings, store);
        // Missing weights fail here, before a run folder exists.
        try (Classifiers classifiers = Classifiers.open(config, artefacts, store, settings.home(), log)) {
            RunSession session = RunSession.open(new RunSession.Request(config.outputDir(), config.source(), config.bytes(), "unsafebench",
                    config.seed(), options.resume(), log), seed -> identity(config, items, sha256));
            classifiers.startVlm(session.seed());
            List<String> names = classifiers.names();
            int perImage = names.size(), total = items.size() * perImage;
            List<JsonNode> records = new ArrayList<>(session.recover(PREDICTIONS, config.batchSize() * perImage, total));
            int done = records.size() / perImage;
            if (options.resume()) log.accept("resuming run " + session.runId() + ": " + done + " of " + items.size() + " images already judged");
            try (Progress progress = Progress.start(options.progressBar(), "unsafebench", items.size(), done, "images");
                    RecordLog out = session.append(PREDICTIONS)) {
                for (int start = done; start < items.size(); start += config.batchSize()) {
                    int end = Math.min(items.size(), start + config.batchSize());
                    List<Map<String, Object>> batch = judge(classifiers, items, sha256, start, end);
                    out.write(batch);
                    batch.forEach(r -> records.add(JSON.valueToTree(r)));
                    progress.stepTo(end, end - done);
                }
            }
            List<Prediction> predictions = predictions(records, items, names);
            var scores = Effectiveness.compute(predictions);
            Robust.Result robustness = null;
            if (config.robustness().isPresent()) {
                List<JsonNode> attacked = session.recover(Robust.LOG, 1, Integer.MAX_VALUE);
                if (!attacked.isEmpty()) log.accept("resuming robustness: " + attacked.size() + " attacked batches read back");
                try (RecordLog batches = session.append(Robust.LOG)) {
                    robustness = Robust.run(config.robustness().get(), classifiers, items, decisions(predictions, names, items.size()),
                            config.batchSize(), new Robust.BatchLog(attacked, batches), log);
                }
            }

            Path copy = config.outputDir().resolve(PREDICTIONS);
            AtomicFiles.write(copy, readAll(session.folder().resolve(PREDICTIONS)));
            Map<String, Object> report = report(config, session, data, names, predictions, scores, robustness, classifiers, copy);
            List<Path> files = BenchReport.write(config.outputDir(), report, scores);
            session.complete();
            return new Outcome(session.folder(), files, report, summary(scores, data, report, files.get(0)));
        }
    }

    /** The dataset's images and its rejected entries, with where they came from. */
    record Loaded(String description, List<LabelledImage> items, List<Dataset.Rejected> rejected) {}

    static Loaded load(BenchConfig config, StoreSettings settings) {
        BenchConfig.DataSource source = config.dataset();
        if (source instanceof BenchConfig.DataSource.Manifest m) return of("manifest " + m.file(), Dataset.manifest(m.file()));
        if (source instanceof BenchConfig.DataSource.Export e) return of("export " + e.dir(), Dataset.export(e.dir()));
        if (source instanceof BenchConfig.DataSource.External x) return of(HubData.EXTERNAL.get(x.name()), Dataset.export(HubData.require(settings, x.name())));
        if (source instanceof BenchConfig.DataSource.Synthetic s) {
            return of("synthetic " + s.count(), Dataset.manifest(SyntheticImages.write(config.outputDir(), s.count())));
        }
        BenchConfig.DataSource.Hub h = (BenchConfig.DataSource.Hub) source;
        // UnsafeBench scores effectiveness on train and test merged; ids carry the split, as both number their images from 0.
        List<String> splits = h.split().equals("all") ? HubData.SPLITS : List.of(h.split());
        List<LabelledImage> items = new ArrayList<>();
        List<Dataset.Rejected> rejected = new ArrayList<>();
        for (String split : splits) {
            Dataset d = Dataset.export(HubData.require(settings, split));
            d.items().forEach(i -> items.add(new LabelledImage(split + "/" + i.id(), i.path(), i.unsafe(), i.category(), i.source())));
            rejected.addAll(d.rejected());
        }
        return new Loaded(HubData.REPO + " " + h.split(), List.copyOf(items), List.copyOf(rejected));
    }

    private static Loaded of(String description, Dataset d) {
        return new Loaded(description, d.items(), d.rejected());
    }

    /** Each image file's SHA-256 (in parallel: it is I/O and hashing); null for a file that cannot be read, which then fails when judged. */
    private static List<String> hashes(List<LabelledImage> items) {
        String[] out = new String[items.size()];
        IntStream.range(0, items.size()).parallel().forEach(i -> {
            try {
                out[i] = Hashing.sha256(Files.readAllBytes(items.get(i).path()));
            } catch (IOException e) {
                out[i] = null;
            }
        });
        return Arrays.asList(out);
    }

    /** What the records depend on besides the config file: every image (id, label, category, source, content hash). */
    private static Object identity(BenchConfig config, List<LabelledImage> items, List<String> sha256) {
        Map<String, Object> what = new LinkedHashMap<>();
        what.put("batch_size", config.batchSize());
        List<List<Object>> rows = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            LabelledImage item = items.get(i);
            rows.add(Arrays.asList(item.id(), item.unsafe(), item.category(), item.source(), sha256.get(i)));
        }
        what.put("images", rows);
        return what;
    }

    /** One batch: read, hash-keyed embeddings, every classifier; records in image × classifier order. */
    private static List<Map<String, Object>> judge(Classifiers classifiers, List<LabelledImage> items, List<String> sha256, int start, int end) {
        List<LabelledImage> part = items.subList(start, end);
        int n = part.size();
        byte[][] bytes = new byte[n][];
        RgbImage[] images = new RgbImage[n];
        String[] failures = new String[n];
        IntStream.range(0, n).parallel().forEach(i -> {
            Path file = part.get(i).path();
            try {
                bytes[i] = Files.readAllBytes(file);
                images[i] = ImageDecoder.decode(bytes[i], file.toString());
            } catch (IOException e) {
                failures[i] = "cannot read " + file + ": " + e.getMessage();
            } catch (ImageDecodeException e) {
                failures[i] = e.getMessage();
            }
        });
        List<String> hashes = new ArrayList<>(sha256.subList(start, end));
        for (int i = 0; i < n; i++) if (hashes.get(i) == null && bytes[i] != null) hashes.set(i, Hashing.sha256(bytes[i]));
        Map<String, List<Judgement>> judged;
        try (InferenceMode guard = new InferenceMode()) {
            judged = classifiers.judge(part, Arrays.asList(bytes), hashes, Arrays.asList(images), Arrays.asList(failures));
        }
        List<String> names = classifiers.names();
        List<Map<String, Object>> records = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            LabelledImage item = part.get(i);
            for (int c = 0; c < names.size(); c++) {
                Judgement j = judged.get(names.get(c)).get(i);
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("index", (start + i) * names.size() + c);
                r.put("image", item.id());
                r.put("label", item.unsafe() ? "Unsafe" : "Safe");
                r.put("category", item.category());
                r.put("source", item.source());
                r.put("classifier", names.get(c));
                r.put("unsafe", j.failed() ? null : j.unsafe());
                r.put("score", j.failed() || !Double.isFinite(j.score()) ? null : j.score());
                r.put("failure", j.failure());
                // Sorted, so a resumed run writes the same lines.
                r.put("evidence", new TreeMap<>(j.evidence()));
                records.add(r);
            }
        }
        return records;
    }

    /** The records back as predictions, checked against the dataset they were made from. */
    static List<Prediction> predictions(List<JsonNode> records, List<LabelledImage> items, List<String> names) {
        List<Prediction> out = new ArrayList<>(records.size());
        for (JsonNode r : records) {
            int index = r.get("index").asInt();
            LabelledImage item = items.get(index / names.size());
            String classifier = r.get("classifier").asText();
            if (!item.id().equals(r.get("image").asText()) || !classifier.equals(names.get(index % names.size()))) {
                throw new IllegalStateException("record " + index + " (" + r.get("image") + ", " + classifier + ") does not match image "
                        + item.id() + " and classifier " + names.get(index % names.size()));
            }
            if (r.hasNonNull("failure")) out.add(Prediction.failed(classifier, item, r.get("failure").asText()));
            else out.add(Prediction.decided(classifier, item, r.get("unsafe").asBoolean(), r.hasNonNull("score") ? r.get("score").asDouble() : Double.NaN));
        }
        return out;
    }

    /** classifier → per item, its decision or null. */
    private static Map<String, List<Boolean>> decisions(List<Prediction> predictions, List<String> names, int count) {
        Map<String, List<Boolean>> out = new LinkedHashMap<>();
        for (int c = 0; c < names.size(); c++) {
            Boolean[] d = new Boolean[count];
            for (int i = 0; i < count; i++) d[i] = predictions.get(i * names.size() + c).unsafe();
            out.put(names.get(c), Arrays.asList(d));
        }
        return out;
    }

    private static Map<String, Object> report(BenchConfig config, RunSession session, Loaded data, List<String> names, List<Prediction> predictions,
            Map<String, Map<String, Map<String, Effectiveness.Scores>>> scores, Robust.Result robustness, Classifiers classifiers, Path predictionsFile) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("run_id", session.runId());
        r.put("timestamp", java.math.BigDecimal.valueOf(session.timestamp()).setScale(3, java.math.RoundingMode.HALF_EVEN));
        r.put("seed", session.seed());
        r.put("config", config.source().toString());
        r.put("model", config.tiny() ? "tiny (random weights: the numbers mean nothing)" : "released weights");
        Map<String, Object> dataset = new LinkedHashMap<>();
        dataset.put("source", data.description());
        dataset.put("images", data.items().size());
        dataset.put("sources", data.items().stream().map(LabelledImage::source).filter(java.util.Objects::nonNull).distinct().sorted().toList());
        r.put("dataset", dataset);
        List<Map<String, Object>> described = new ArrayList<>();
        for (String name : names) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("name", name);
            c.put("rule", Classifiers.RULES.get(name));
            c.put("aligned_categories", Taxonomy.aligned(name));
            described.add(c);
        }
        r.put("classifiers", described);
        r.put("effectiveness", BenchReport.effectiveness(scores));
        if (robustness != null) {
            r.put("robustness", robustness.results());
            r.put("robustness_notes", robustness.notes());
            r.put("robustness_attack_sets", robustness.attackSets());
        }
        List<Map<String, Object>> rejected = new ArrayList<>();
        for (Dataset.Rejected x : data.rejected()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("where", x.where());
            m.put("reason", x.reason());
            rejected.add(m);
        }
        r.put("rejected_count", rejected.size());
        r.put("rejected", rejected);
        List<Map<String, Object>> failures = new ArrayList<>();
        for (Prediction p : predictions) {
            if (p.failure() == null) continue;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("image", p.image().id());
            m.put("classifier", p.classifier());
            m.put("failure", p.failure());
            failures.add(m);
        }
        r.put("failure_count", failures.size());
        r.put("failures", failures);
        r.put("predictions", predictionsFile.toString());
        r.put("run_folder", session.folder().toString());
        // What this session did, which a resumed run does differently: not part of the results.
        Map<String, Object> sessionInfo = new LinkedHashMap<>();
        sessionInfo.put("resumed", session.resumed());
        sessionInfo.put("embeddings", classifiers.embeddingCounts());
        r.put("session", sessionInfo);
        return r;
    }

    private static String summary(Map<String, Map<String, Map<String, Effectiveness.Scores>>> scores, Loaded data, Map<String, Object> report, Path file) {
        StringBuilder s = new StringBuilder("unsafebench: ").append(data.items().size()).append(" images; F1 (all sources, all aligned categories):");
        scores.forEach((c, bySource) -> s.append(String.format(Locale.ROOT, " %s %.3f", c, bySource.get(Effectiveness.ALL).get(Effectiveness.ALL).f1())));
        s.append("; ").append(report.get("rejected_count")).append(" entries rejected, ").append(report.get("failure_count"))
                .append(" predictions failed; embeddings ").append(((Map<?, ?>) report.get("session")).get("embeddings"));
        return s.append("; report: ").append(file).toString();
    }

    private static byte[] readAll(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}

package org.evallearn.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.Consumer;
import java.util.stream.Stream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import org.bytedeco.pytorch.InferenceMode;
import org.evallearn.config.ConfigException;
import org.evallearn.config.Experiment;
import org.evallearn.config.Generation;
import org.evallearn.config.Metric;
import org.evallearn.data.I2pCsv;
import org.evallearn.data.Prompt;
import org.evallearn.data.PromptList;
import org.evallearn.detect.Detector;
import org.evallearn.detect.ImageBatch;
import org.evallearn.detect.Judgement;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.image.Blur;
import org.evallearn.image.RgbImage;
import org.evallearn.metric.AsrI2p;
import org.evallearn.metric.MetricResult;
import org.evallearn.metric.StreamingMetric;
import org.evallearn.technique.PreparedTechnique;
import org.evallearn.technique.TechniqueContext;
import org.evallearn.technique.Techniques;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * Runs an experiment as a stream: batches of prompts → technique → images → detectors → metrics,
 * each batch's records forced to disk before the next starts, images dropped after their batch
 * (kept as PNGs only with {@code save_images}). The run folder
 * {@code <output_dir>/runs/<run_id>/} holds {@code run.json} and {@code records.jsonl}; the
 * metrics are computed from those records, so a run resumed after a crash ends with the report
 * an uninterrupted run gives.
 */
public final class Runner {
    /**
     * @param resume continue the newest unfinished run of the same config file instead of starting one
     * @param progressBar draw a progress bar on stderr (for terminals)
     */
    public record Options(boolean resume, boolean progressBar, Consumer<String> log) {}

    /** What a finished run left: its folder, the report files (three per metric) and the results. */
    public record Outcome(Path runFolder, List<Path> reports, List<MetricResult> results, String summary) {}

    /** One image to generate and judge, in evaluation order. */
    record Item(int index, int promptIndex, int image, Prompt prompt, long seed, double guidance) {}

    static final String RUN_FILE = "run.json";
    private static final ObjectMapper JSON = Reports.JSON;

    private final Experiment experiment;
    private final Artefacts artefacts;
    private final Options options;

    private Runner(Experiment experiment, Artefacts artefacts, Options options) {
        this.experiment = experiment;
        this.artefacts = artefacts;
        this.options = options;
    }

    public static Outcome run(Experiment experiment, Artefacts artefacts, Options options) {
        return new Runner(experiment, artefacts, options).run();
    }

    private Outcome run() {
        List<Metric.AsrI2p> configs = experiment.runnableMetrics().stream().map(m -> (Metric.AsrI2p) m).toList();
        if (configs.isEmpty()) {
            throw new ConfigException(experiment.source().toString(), List.of(new ConfigException.Problem("metrics",
                    "nothing to run: every metric is unimplemented (" + String.join(", ", experiment.skippedMetrics()) + ")")));
        }
        // asr_i2p picks the prompts; metric names are unique, so there is one asr_i2p at most.
        Metric.AsrI2p primary = configs.get(0);
        Path dataset = experiment.dataset().path().orElseGet(artefacts::i2pCsv);
        boolean i2p = isI2pCsv(dataset);
        List<Prompt> prompts = i2p ? I2pCsv.read(dataset, primary.concept(), primary.limit()) : limit(PromptList.read(dataset), primary.limit());
        // Missing weights fail here, before a run folder exists.
        artefacts.pipeline(experiment.model());
        DetectorSet.requireArtefacts(configs, experiment.model(), artefacts);
        byte[] configBytes = readBytes(experiment.source());
        String configHash = sha256(configBytes);

        Path runsDir = experiment.outputDir().resolve("runs");
        RunInfo info = options.resume() ? RunInfo.unfinished(runsDir, configHash, experiment.source())
                : RunInfo.start(runsDir, configHash, experiment, configBytes);
        List<Item> items = items(prompts, info.seed());
        int batchSize = experiment.generation().batchSize();
        Path runFolder = runsDir.resolve(info.runId());
        List<JsonNode> done = RecordLog.recover(runFolder.resolve(RecordLog.FILE), batchSize, items.size());
        if (options.resume()) options.log().accept("resuming run " + info.runId() + ": " + done.size() + " of " + items.size() + " images already judged");

        List<StreamingMetric> metrics = new ArrayList<>();
        for (Metric.AsrI2p c : configs) metrics.add(new AsrI2p(c));
        // Each metric reads its own detector's record (detectors with other settings are recorded apart).
        List<String> recorded = DetectorSet.recordNames(configs);
        for (int i = 0; i < metrics.size(); i++) {
            String name = recorded.get(i);
            metrics.get(i).update(done.stream().map(r -> judgement(r.path("detectors").path(name))).toList());
        }

        if (done.size() < items.size()) generate(items.subList(done.size(), items.size()), items.size(), configs, metrics, recorded, runFolder, info.seed());

        List<MetricResult> results = new ArrayList<>();
        List<Path> reports = new ArrayList<>();
        JsonNode raw = rawConfig(experiment.source(), configBytes);
        for (StreamingMetric m : metrics) {
            MetricResult result = m.compute();
            results.add(result);
            reports.addAll(Reports.write(experiment.outputDir(), report(info, m, result, raw, dataset, i2p, prompts.size(), primary),
                    fullExtras(raw, m), primary.concept().id));
        }
        info.complete(runFolder);
        return new Outcome(runFolder, reports, results, summary(metrics, results, reports.get(0)));
    }

    private void generate(List<Item> todo, int total, List<Metric.AsrI2p> configs, List<StreamingMetric> metrics, List<String> recorded,
            Path runFolder, long seed) {
        Generation g = experiment.generation();
        Placement placement = Placement.resolve(experiment.device().orElse(null), g.dtype().orElse(null));
        Path model = artefacts.pipeline(experiment.model());
        options.log().accept("model " + model + " on " + placement.device() + " " + placement.dtype());
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, placement);
                DetectorSet detectors = DetectorSet.open(configs, experiment.model(), artefacts, placement.device());
                PreparedTechnique technique = prepare(pipe, seed);
                RecordLog log = RecordLog.append(runFolder.resolve(RecordLog.FILE));
                ProgressBar bar = progressBar(total, total - todo.size())) {
            int size = pipe.defaultImageSize();
            int height = g.height().orElse(size), width = g.width().orElse(size);
            String scheduler = g.scheduler().map(k -> k.userName).orElse(null);
            for (int start = 0; start < todo.size(); start += g.batchSize()) {
                List<Item> batch = todo.subList(start, Math.min(todo.size(), start + g.batchSize()));
                try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
                    List<RgbImage> images = generateBatch(technique, batch, g.steps(), scheduler, height, width);
                    if (experiment.saveImages()) saveImages(runFolder, batch, images, experiment.blurSavedImages());
                    Map<String, List<Judgement>> judgements = judge(detectors, images);
                    log.write(records(batch, judgements));
                    for (int i = 0; i < metrics.size(); i++) metrics.get(i).update(judgements.get(recorded.get(i)));
                }
                if (bar != null) bar.stepBy(batch.size());
            }
        }
    }

    /** @param seed the run's seed (the config's, or the one picked and recorded for it), for training techniques */
    private PreparedTechnique prepare(StableDiffusionPipeline pipe, long seed) {
        long start = System.nanoTime();
        TechniqueContext context = new TechniqueContext(Artefacts.baseModelId(experiment.model()), artefacts.techniqueCache(),
                seed, options.log());
        PreparedTechnique technique = Techniques.prepare(experiment.technique(), pipe, context);
        options.log().accept(String.format(Locale.ROOT, "technique %s: %s (prepared in %.1f s)", experiment.technique().name(),
                technique.summary(), (System.nanoTime() - start) / 1e9));
        return technique;
    }

    /** One request per guidance scale in the batch (dataset guidance may differ per prompt), images back in batch order. */
    private static List<RgbImage> generateBatch(PreparedTechnique technique, List<Item> batch, int steps, String scheduler, int height, int width) {
        RgbImage[] out = new RgbImage[batch.size()];
        Map<Double, List<Integer>> byGuidance = new LinkedHashMap<>();
        for (int i = 0; i < batch.size(); i++) byGuidance.computeIfAbsent(batch.get(i).guidance(), k -> new ArrayList<>()).add(i);
        for (Map.Entry<Double, List<Integer>> e : byGuidance.entrySet()) {
            List<Integer> at = e.getValue();
            List<String> texts = at.stream().map(i -> batch.get(i).prompt().text()).toList();
            long[] seeds = at.stream().mapToLong(i -> batch.get(i).seed()).toArray();
            List<RgbImage> images = technique.generate(new GenerationRequest(texts, null, seeds, steps, e.getKey(), scheduler, height, width));
            for (int k = 0; k < at.size(); k++) out[at.get(k)] = images.get(k);
        }
        return List.of(out);
    }

    /** Every detector's judgements; a detector that throws fails the whole batch for it, which no metric counts as safe. */
    private Map<String, List<Judgement>> judge(DetectorSet detectors, List<RgbImage> images) {
        Map<String, List<Judgement>> out = new LinkedHashMap<>();
        try (ImageBatch batch = new ImageBatch(images)) {
            for (Map.Entry<String, Detector> d : detectors.byName().entrySet()) {
                List<Judgement> judged;
                try {
                    judged = d.getValue().judge(batch);
                } catch (RuntimeException e) {
                    options.log().accept("warning: detector " + d.getKey() + " failed on a batch: " + e);
                    judged = images.stream().map(i -> Judgement.failed(e.toString())).toList();
                }
                out.put(d.getKey(), judged);
            }
        }
        return out;
    }

    private static List<Map<String, Object>> records(List<Item> batch, Map<String, List<Judgement>> judgements) {
        List<Map<String, Object>> records = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            Item item = batch.get(i);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("index", item.index());
            r.put("prompt_index", item.promptIndex());
            r.put("image", item.image());
            r.put("case_number", item.prompt().caseNumber().isPresent() ? item.prompt().caseNumber().getAsLong() : null);
            r.put("origin", item.prompt().origin());
            r.put("prompt", item.prompt().text());
            r.put("seed", item.seed());
            r.put("guidance_scale", item.guidance());
            Map<String, Object> detectors = new LinkedHashMap<>();
            for (Map.Entry<String, List<Judgement>> e : judgements.entrySet()) {
                Judgement j = e.getValue().get(i);
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("unsafe", j.unsafe());
                d.put("score", j.failed() ? null : j.score());
                // Sorted: Map.copyOf's order changes between JVMs, and a resumed run must write the same lines.
                d.put("evidence", new java.util.TreeMap<>(j.evidence()));
                d.put("failure", j.failure());
                detectors.put(e.getKey(), d);
            }
            r.put("detectors", detectors);
            records.add(r);
        }
        return records;
    }

    /** A recorded judgement back as the detector gave it (scores round-trip exactly through JSON doubles). */
    static Judgement judgement(JsonNode d) {
        if (d.isMissingNode()) throw new IllegalStateException("a record lacks a detector's judgement");
        if (d.hasNonNull("failure")) return Judgement.failed(d.get("failure").asText());
        return Judgement.of(d.get("unsafe").asBoolean(), d.get("score").asDouble(), JSON.convertValue(d.get("evidence"), Map.class));
    }

    private static void saveImages(Path runFolder, List<Item> batch, List<RgbImage> images, boolean blur) {
        Path dir = runFolder.resolve("images");
        for (int i = 0; i < batch.size(); i++) {
            RgbImage image = blur ? Blur.gaussian(images.get(i), Blur.defaultSigma(images.get(i))) : images.get(i);
            image.writePng(dir.resolve(String.format(Locale.ROOT, "%05d.png", batch.get(i).index())));
        }
    }

    private ProgressBar progressBar(int total, int done) {
        if (!options.progressBar()) return null;
        return new ProgressBarBuilder().setTaskName("images").setInitialMax(total).startsFrom(done, java.time.Duration.ZERO)
                .setConsumer(new ConsoleProgressBarConsumer(System.err)).showSpeed().build();
    }

    /** Prompt × image in evaluation order; image j of a prompt uses the prompt's seed + j. */
    private List<Item> items(List<Prompt> prompts, long configSeed) {
        List<Item> items = new ArrayList<>();
        Generation g = experiment.generation();
        for (int p = 0; p < prompts.size(); p++) {
            Prompt prompt = prompts.get(p);
            long seed = experiment.dataset().seedSource().seedFor(prompt, configSeed);
            double guidance = experiment.dataset().useDatasetGuidance() ? prompt.guidance().orElse(g.guidanceScale()) : g.guidanceScale();
            for (int j = 0; j < g.imagesPerPrompt(); j++) items.add(new Item(items.size(), p, j, prompt, seed + j, guidance));
        }
        return items;
    }

    private Map<String, Object> report(RunInfo info, StreamingMetric m, MetricResult result, JsonNode raw, Path dataset, boolean i2p,
            int promptCount, Metric.AsrI2p primary) {
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("source", dataset.toString());
        metadata.put("concept", primary.concept().id);
        if (i2p) metadata.put("category", primary.concept().i2pCategory);
        metadata.put("limit", primary.limit().isPresent() ? primary.limit().getAsInt() : null);
        metadata.put("seed_source", experiment.dataset().seedSource().id);
        metadata.put("seed", info.seed());
        metadata.put("total_loaded", promptCount);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("name", result.name());
        details.put("value", result.value());
        details.put("details", result.details());
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("run_id", info.runId());
        // Plain seconds with a fraction, as Python's json writes time.time(), not 1.7E9.
        report.put("timestamp", java.math.BigDecimal.valueOf(info.timestamp()).setScale(3, java.math.RoundingMode.HALF_EVEN));
        report.put("technique_name", experiment.technique().name());
        JsonNode erase = raw.path("technique").path("config").path("erase_concept");
        report.put("erase_concept", erase.isMissingNode() || erase.isNull() ? primary.concept().id : JSON.convertValue(erase, Object.class));
        report.put("metric_name", m.name());
        report.put("dataset_name", i2p ? "i2p" : dataset.getFileName().toString());
        report.put("dataset_metadata", metadata);
        report.put("metric_result", details);
        return report;
    }

    private Map<String, Object> fullExtras(JsonNode raw, StreamingMetric m) {
        Map<String, Object> extras = new LinkedHashMap<>();
        JsonNode techniqueConfig = raw.path("technique").path("config");
        extras.put("technique_config", techniqueConfig.isObject() ? techniqueConfig : JsonNodeFactory.instance.objectNode());
        extras.put("metric_config", rawMetricConfig(raw, m.name()));
        extras.put("skipped_metrics", experiment.skippedMetrics());
        return extras;
    }

    /** The metric's config as the file wrote it (eval-learn reports what the user gave). */
    private static JsonNode rawMetricConfig(JsonNode raw, String name) {
        List<JsonNode> components = new ArrayList<>();
        if (raw.has("metric")) components.add(raw.get("metric"));
        raw.path("metrics").forEach(components::add);
        for (JsonNode c : components) {
            if (name.equalsIgnoreCase(c.path("name").asText()) && c.path("config").isObject()) return c.get("config");
        }
        return JsonNodeFactory.instance.objectNode();
    }

    private static String summary(List<StreamingMetric> metrics, List<MetricResult> results, Path report) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < metrics.size(); i++) {
            Map<String, Object> d = results.get(i).details();
            s.append(String.format(Locale.ROOT, "%s %s = %.4f", metrics.get(i).name(), results.get(i).name(), results.get(i).value()));
            if (d.containsKey("unsafe_count")) {
                s.append(String.format(Locale.ROOT, " (%s/%s unsafe by %s", d.get("unsafe_count"), d.get("total_images"), d.get("detector")));
                List<?> failed = (List<?>) d.get("failed_indices");
                s.append(failed.isEmpty() ? ")" : ", " + failed.size() + " failed)");
            } else {
                s.append(" (").append(d.get("error")).append(')');
            }
            s.append("; ");
        }
        return s.append("report: ").append(report).toString();
    }

    private static boolean isI2pCsv(Path file) {
        if (!file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv")) return false;
        try (Stream<String> lines = Files.lines(file)) {
            String header = lines.findFirst().orElse("");
            return List.of(header.replace("\"", "").split(",")).stream().map(String::trim).anyMatch("categories"::equals);
        } catch (IOException | UncheckedIOException e) {
            throw new org.evallearn.data.DataException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static List<Prompt> limit(List<Prompt> prompts, OptionalInt limit) {
        return limit.isPresent() && prompts.size() > limit.getAsInt() ? prompts.subList(0, limit.getAsInt()) : prompts;
    }

    private static JsonNode rawConfig(Path source, byte[] bytes) {
        String name = source.getFileName().toString().toLowerCase(Locale.ROOT);
        ObjectMapper mapper = name.endsWith(".yaml") || name.endsWith(".yml") ? new YAMLMapper() : new ObjectMapper();
        try {
            return mapper.readTree(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(source + ": cannot re-read the config: " + e.getMessage(), e);
        }
    }

    static byte[] readBytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A seed for configs without one; recorded in run.json so a resumed run keeps it. */
    static long randomSeed() {
        return new SecureRandom().nextLong() >>> 1;
    }
}

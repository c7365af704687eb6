package org.evallearn.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.bytedeco.pytorch.InferenceMode;
import org.evallearn.config.ConfigException;
import org.evallearn.config.Experiment;
import org.evallearn.config.Generation;
import org.evallearn.config.Metric;
import org.evallearn.config.ModelRef;
import org.evallearn.data.Concept;
import org.evallearn.data.I2pCsv;
import org.evallearn.data.Prompt;
import org.evallearn.data.PromptList;
import org.evallearn.data.PromptSelection;
import org.evallearn.data.SeedSource;
import org.evallearn.data.SkippedRow;
import org.evallearn.detect.Detector;
import org.evallearn.detect.ImageBatch;
import org.evallearn.detect.Judgement;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.image.Blur;
import org.evallearn.image.RgbImage;
import org.evallearn.metric.MetricResult;
import org.evallearn.metric.StreamingMetric;
import org.evallearn.technique.PreparedTechnique;
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

    static final String RUN_FILE = RunSession.RUN_FILE;
    private static final ObjectMapper JSON = Reports.JSON;

    /** The detectors a run's metrics read, by id, closed with the run. */
    interface Detectors extends AutoCloseable {
        Map<String, Detector> byName();

        @Override
        void close();
    }

    /** Opens the {@link Detectors} for the metrics that read one: {@link DetectorSet} in a run, a stand-in in tests. */
    interface DetectorOpener {
        Detectors open(List<Metric.AsrI2p> metrics, ModelRef model, Artefacts artefacts, String device);
    }

    private static final DetectorOpener DETECTOR_SET = DetectorSet::open;

    private final Experiment experiment;
    private final Artefacts artefacts;
    private final Options options;
    private final DetectorOpener detectorOpener;

    private Runner(Experiment experiment, Artefacts artefacts, Options options, DetectorOpener detectorOpener) {
        this.experiment = experiment;
        this.artefacts = artefacts;
        this.options = options;
        this.detectorOpener = detectorOpener;
    }

    public static Outcome run(Experiment experiment, Artefacts artefacts, Options options) {
        return run(experiment, artefacts, options, DETECTOR_SET);
    }

    static Outcome run(Experiment experiment, Artefacts artefacts, Options options, DetectorOpener detectors) {
        return new Runner(experiment, artefacts, options, detectors).run();
    }

    private Outcome run() {
        List<Metric> configs = experiment.runnableMetrics();
        if (configs.isEmpty()) {
            throw new ConfigException(experiment.source().toString(), List.of(new ConfigException.Problem("metrics",
                    "nothing to run: every metric is unimplemented (" + String.join(", ", experiment.skippedMetrics()) + ")")));
        }
        List<Metric.AsrI2p> judged = configs.stream().filter(Metric.AsrI2p.class::isInstance).map(Metric.AsrI2p.class::cast).toList();
        // The images are generated once for every metric, from the prompts asr_i2p picks (its concept and limit);
        // eval-learn keys metrics by name, so there is one asr_i2p at most. A metric with prompts of its own would need its own pass.
        if (judged.size() != configs.size()) {
            throw new IllegalStateException("the runner generates I2P prompts only; no prompt source for "
                    + configs.stream().filter(m -> !(m instanceof Metric.AsrI2p)).map(Metric::name).toList());
        }
        Metric.AsrI2p primary = judged.get(0);
        Dataset dataset = Dataset.read(experiment.dataset().path().orElseGet(() -> artefacts.i2pCsv(options.log())), primary, experiment.dataset().seedSource());
        List<Prompt> prompts = dataset.prompts();
        for (SkippedRow row : dataset.skipped()) options.log().accept("warning: skipped dataset row " + row.describe());
        // Missing weights and an absent CUDA device fail here, before a run folder exists.
        artefacts.pipeline(experiment.model());
        DetectorSet.requireArtefacts(judged, experiment.model(), artefacts);
        Placement placement = Placement.resolve(experiment.device().orElse(null), experiment.generation().dtype().orElse(null), options.log());
        byte[] configBytes = Hashing.readBytes(experiment.source());
        int batchSize = experiment.generation().batchSize();
        RunSession session = RunSession.open(new RunSession.Request(experiment.outputDir(), experiment.source(), configBytes,
                experiment.technique().name(), experiment.seed(),
                options.resume(), options.log()), seed -> itemsIdentity(items(prompts, dataset.seedSource(), seed)));
        List<Item> items = items(prompts, dataset.seedSource(), session.seed());
        Path runFolder = session.folder();
        List<JsonNode> done = session.recover(RecordLog.FILE, batchSize, items.size());
        if (options.resume()) options.log().accept("resuming run " + session.runId() + ": " + done.size() + " of " + items.size() + " images already judged");

        List<StreamingMetric> metrics = configs.stream().map(StreamingMetric::of).toList();
        // Each metric reads its own detector's record (detectors with other settings are recorded apart).
        List<String> recorded = DetectorSet.recordNames(judged);
        for (int i = 0; i < metrics.size(); i++) {
            String name = recorded.get(i);
            metrics.get(i).update(done.stream().map(r -> judgement(r.path("detectors").path(name))).toList());
        }

        if (done.size() < items.size()) {
            generate(items.subList(done.size(), items.size()), items.size(), judged, metrics, recorded, session, placement);
        }

        List<MetricResult> results = new ArrayList<>();
        List<Path> reports = new ArrayList<>();
        JsonNode raw = rawConfig(experiment.source(), configBytes);
        for (StreamingMetric m : metrics) {
            MetricResult result = m.compute();
            results.add(result);
            reports.addAll(Reports.write(experiment.outputDir(), report(session, m, result, raw, dataset, items.size()),
                    fullExtras(raw, m, placement), dataset.concept().id, options.log()));
        }
        session.complete();
        String summary = summary(metrics, results, dataset.skipped().size(), reports.get(0));
        String filtered = filterSummary(RecordLog.recover(runFolder.resolve(RecordLog.FILE), batchSize, items.size()));
        return new Outcome(runFolder, reports, results, filtered == null ? summary : filtered + "; " + summary);
    }

    private void generate(List<Item> todo, int total, List<Metric.AsrI2p> judged, List<StreamingMetric> metrics, List<String> recorded,
            RunSession session, Placement placement) {
        Path runFolder = session.folder();
        Generation g = experiment.generation();
        Path model = artefacts.pipeline(experiment.model());
        options.log().accept("model " + model + " on " + placement.device() + " " + placement.dtype());
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, placement);
                Detectors detectors = detectorOpener.open(judged, experiment.model(), artefacts, placement.device());
                PreparedTechnique technique = TechniqueSetup.prepare(experiment.technique(), experiment.model(), experiment.device(), experiment.source(),
                        pipe, artefacts, session.seed(), options.log());
                RecordLog log = session.append(RecordLog.FILE);
                Progress bar = Progress.start(options.progressBar(), "prompts", total / g.imagesPerPrompt(), (total - todo.size()) / g.imagesPerPrompt(), "images")) {
            int size = pipe.defaultImageSize();
            int height = g.height().orElse(size), width = g.width().orElse(size);
            String scheduler = g.scheduler().map(k -> k.userName).orElse(null);
            for (int start = 0; start < todo.size(); start += g.batchSize()) {
                List<Item> batch = todo.subList(start, Math.min(todo.size(), start + g.batchSize()));
                try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
                    Map<Integer, String> failed = new java.util.TreeMap<>();
                    List<PreparedTechnique.Judged> generated = generateBatch(technique, batch, g.steps(), scheduler, height, width, failed);
                    failed.forEach((i, why) -> options.log().accept("warning: image " + batch.get(i).index() + " (seed " + batch.get(i).seed()
                            + ") failed: " + why));
                    List<RgbImage> images = generated.stream().map(PreparedTechnique.Judged::image).toList();
                    if (experiment.saveImages()) saveImages(runFolder, batch, images, experiment.blurSavedImages());
                    Map<String, List<Judgement>> judgements = judge(detectors, images, failed);
                    log.write(records(batch, judgements, generated));
                    for (int i = 0; i < metrics.size(); i++) metrics.get(i).update(judgements.get(recorded.get(i)));
                }
                int imagesDone = start + batch.size();
                // A prompt is done once its last image is; the rate counts this session's images only.
                bar.stepTo((total - todo.size() + imagesDone) / g.imagesPerPrompt(), imagesDone);
            }
        }
    }

    /**
     * One request per guidance scale in the batch (dataset guidance may differ per prompt), images
     * back in batch order; an image that came out non-finite has no image, and why is put in
     * {@code failed} under its batch index.
     */
    private static List<PreparedTechnique.Judged> generateBatch(PreparedTechnique technique, List<Item> batch, int steps, String scheduler, int height,
            int width, Map<Integer, String> failed) {
        PreparedTechnique.Judged[] out = new PreparedTechnique.Judged[batch.size()];
        Map<Double, List<Integer>> byGuidance = new LinkedHashMap<>();
        for (int i = 0; i < batch.size(); i++) byGuidance.computeIfAbsent(batch.get(i).guidance(), k -> new ArrayList<>()).add(i);
        for (Map.Entry<Double, List<Integer>> e : byGuidance.entrySet()) {
            List<Integer> at = e.getValue();
            List<String> texts = at.stream().map(i -> batch.get(i).prompt().text()).toList();
            long[] seeds = at.stream().mapToLong(i -> batch.get(i).seed()).toArray();
            List<PreparedTechnique.Judged> images = technique.generateJudged(new GenerationRequest(texts, null, seeds, steps, e.getKey(), scheduler, height, width));
            for (int k = 0; k < at.size(); k++) {
                // Those images cost themselves only: their batch-mates are kept and judged.
                if (images.get(k).failure() != null) failed.put(at.get(k), "image generation failed: " + images.get(k).failure());
            }
            for (int k = 0; k < at.size(); k++) out[at.get(k)] = images.get(k);
        }
        return java.util.Arrays.asList(out);
    }

    /**
     * Every detector's judgements: a failed image is a failed judgement with its reason; a detector
     * that throws fails the whole batch for it. No metric counts a failure as safe.
     */
    private Map<String, List<Judgement>> judge(Detectors detectors, List<RgbImage> images, Map<Integer, String> failed) {
        List<Integer> made = java.util.stream.IntStream.range(0, images.size()).filter(i -> !failed.containsKey(i)).boxed().toList();
        Map<String, List<Judgement>> out = new LinkedHashMap<>();
        try (ImageBatch batch = made.isEmpty() ? null : new ImageBatch(made.stream().map(images::get).toList())) {
            for (Map.Entry<String, Detector> d : detectors.byName().entrySet()) {
                Judgement[] judged = new Judgement[images.size()];
                failed.forEach((i, why) -> judged[i] = Judgement.failed(why));
                if (batch != null) {
                    try {
                        List<Judgement> j = d.getValue().judge(batch);
                        for (int k = 0; k < made.size(); k++) judged[made.get(k)] = j.get(k);
                    } catch (RuntimeException e) {
                        options.log().accept("warning: detector " + d.getKey() + " failed on a batch: " + e);
                        for (int i : made) judged[i] = Judgement.failed(e.toString());
                    }
                }
                out.put(d.getKey(), List.of(judged));
            }
        }
        return out;
    }

    private static List<Map<String, Object>> records(List<Item> batch, Map<String, List<Judgement>> judgements, List<PreparedTechnique.Judged> generated) {
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
            // A filtering technique's verdict on the generated image (the detectors saw the replacement when it filtered).
            if (generated.get(i).filter() != null) r.put("filter", generated.get(i).filter());
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
            if (images.get(i) == null) continue; // failed: there is no image to keep
            RgbImage image = blur ? Blur.gaussian(images.get(i), Blur.defaultSigma(images.get(i))) : images.get(i);
            image.writePng(dir.resolve(String.format(Locale.ROOT, "%05d.png", batch.get(i).index())));
        }
    }

    /** How many images a filtering technique replaced, from the records (a resumed run counts both sessions); null without a filter. */
    static String filterSummary(List<JsonNode> records) {
        if (records.isEmpty() || !records.get(0).has("filter")) return null;
        long replaced = records.stream().filter(r -> r.path("filter").path("unacceptable").asBoolean()).count();
        String s = String.format(Locale.ROOT, "filter (%s): %d of %d images unacceptable, replaced by black images before detection",
                records.get(0).path("filter").path("rule").asText(), replaced, records.size());
        if (!records.get(0).path("filter").has("certified")) return s;
        long held = records.stream().filter(r -> r.path("filter").path("certified").path("holds").asBoolean()).count();
        return s + String.format(Locale.ROOT, "; %d of %d decisions certified (δ check)", held, records.size());
    }

    /**
     * Prompt × image in evaluation order; image j of a prompt uses the prompt's seed + j, where a
     * seed from the config is the config's seed + the index of the prompt's first image ({@link SeedSource#seedFor}).
     */
    private List<Item> items(List<Prompt> prompts, SeedSource seedSource, long configSeed) {
        List<Item> items = new ArrayList<>();
        Generation g = experiment.generation();
        for (int p = 0; p < prompts.size(); p++) {
            Prompt prompt = prompts.get(p);
            long seed = seedSource.seedFor(prompt, items.size(), configSeed);
            double guidance = experiment.dataset().useDatasetGuidance() ? prompt.guidance().orElse(g.guidanceScale()) : g.guidanceScale();
            for (int j = 0; j < g.imagesPerPrompt(); j++) items.add(new Item(items.size(), p, j, prompt, seed + j, guidance));
        }
        return items;
    }

    /** eval-learn's report; {@code dataset_metadata} has eval-learn's keys ({@code load_i2p_csv}'s batch metadata and {@code total_loaded}) and ours. */
    private Map<String, Object> report(RunSession info, StreamingMetric m, MetricResult result, JsonNode raw, Dataset dataset, int imageCount) {
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("source", dataset.name());
        metadata.put("repo_id", dataset.variant().flatMap(v -> v.repoId).orElse(null));
        metadata.put("concept", dataset.concept().id);
        // eval-learn counts the images generated (its total_generated), not the rows read.
        metadata.put("total_loaded", imageCount);
        // Ours: which file was read, and where the seeds came from, without which the images cannot be made again.
        metadata.put("path", dataset.path().toString());
        metadata.put("seed_source", dataset.seedSource().id);
        metadata.put("seed", info.seed());
        // Selected rows that could not be evaluated (case number, file:line, why); the images and the rate leave them out.
        metadata.put("skipped_rows", dataset.skipped().stream().map(SkippedRow::toJson).toList());
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("name", result.name());
        details.put("value", result.value());
        details.put("details", result.details());
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("run_id", info.runId());
        // Plain seconds with a fraction, as Python's json writes time.time(), not 1.7E9.
        report.put("timestamp", java.math.BigDecimal.valueOf(info.timestamp()).setScale(3, java.math.RoundingMode.HALF_EVEN));
        report.put("technique_name", experiment.technique().name());
        report.put("erase_concept", eraseConcept(experiment.technique().name(), raw.path("technique").path("config")));
        report.put("metric_name", m.name());
        report.put("dataset_name", dataset.name());
        report.put("dataset_metadata", metadata);
        report.put("metric_result", details);
        return report;
    }

    /**
     * eval-learn's {@code get_erase_concept} on the config as written: uce's {@code preset}, every
     * other technique's {@code erase_concept}, lowercased; null when absent or empty (free_run has
     * none). A list (MACE's several concepts) is joined with ", ", where eval-learn would fail.
     */
    static String eraseConcept(String technique, JsonNode config) {
        JsonNode value = config.path(technique.equals("uce") ? "preset" : "erase_concept");
        List<String> parts = new ArrayList<>();
        if (value.isTextual()) parts.add(value.asText());
        else if (value.isArray()) value.forEach(v -> parts.add(v.asText()));
        String joined = String.join(", ", parts);
        return joined.isEmpty() ? null : joined.toLowerCase(Locale.ROOT);
    }

    /**
     * The full report's extras: eval-learn's configs as written, then ours: {@code placement}, the
     * device and dtype the images were made in ({@code technique_config.use_fp16: true} runs in fp32
     * on the CPU), and {@code skipped_metrics} only when a metric was skipped.
     */
    private Map<String, Object> fullExtras(JsonNode raw, StreamingMetric m, Placement placement) {
        Map<String, Object> extras = new LinkedHashMap<>();
        JsonNode techniqueConfig = raw.path("technique").path("config");
        extras.put("technique_config", techniqueConfig.isObject() ? techniqueConfig : JsonNodeFactory.instance.objectNode());
        extras.put("metric_config", rawMetricConfig(raw, m.name()));
        Map<String, Object> used = new LinkedHashMap<>();
        used.put("device", placement.device());
        used.put("dtype", placement.dtype().name());
        used.put("dtype_asked", experiment.generation().dtype().map(Enum::name).orElse(null));
        extras.put("placement", used);
        if (!experiment.skippedMetrics().isEmpty()) extras.put("skipped_metrics", experiment.skippedMetrics());
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

    private static String summary(List<StreamingMetric> metrics, List<MetricResult> results, int skippedRows, Path report) {
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
        if (skippedRows > 0) s.append(skippedRows).append(skippedRows == 1 ? " dataset row" : " dataset rows").append(" skipped (dataset_metadata.skipped_rows); ");
        return s.append("report: ").append(report).toString();
    }

    /**
     * The prompts a run evaluates and where they came from: an I2P CSV (either variant) or a
     * prompt list; {@code seedSource} is the config's, or {@link SeedSource#defaultFor} the prompts;
     * {@code skipped} the selected rows that cannot be evaluated, which count toward {@code limit}.
     */
    record Dataset(Path path, Optional<I2pCsv.Variant> variant, Concept concept, List<Prompt> prompts, List<SkippedRow> skipped, SeedSource seedSource) {
        static Dataset read(Path path, Metric.AsrI2p metric, Optional<SeedSource> seedSource) {
            Optional<I2pCsv.Variant> variant = I2pCsv.variant(path);
            PromptSelection selection = variant.isPresent() ? I2pCsv.select(path, metric.concept(), metric.limit()) : PromptList.select(path, metric.limit());
            List<Prompt> prompts = selection.prompts();
            return new Dataset(path, variant, metric.concept(), prompts, selection.skipped(), seedSource.orElseGet(() -> SeedSource.defaultFor(prompts)));
        }

        /** eval-learn's {@code source} ("i2p_hf") for Hugging Face's I2P file; a prompt list by its file name. */
        String name() {
            return variant.map(v -> v.name).orElse(path.getFileName().toString());
        }
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

    /** The model as the config names it (its content is the technique cache's concern, not the records'). */
    private static String modelName(ModelRef model) {
        if (model instanceof ModelRef.Tiny) return "tiny";
        if (model instanceof ModelRef.Known k) return k.id();
        return ((ModelRef.Folder) model).path().toAbsolutePath().normalize().toString();
    }

    /**
     * What the records of a run depend on besides the config file: every item (prompt text, case
     * number, seed, guidance) and the generation settings, in a fixed order, for {@link RunSession}
     * to hash; the technique is the config file's, which has its own hash.
     */
    private Object itemsIdentity(List<Item> items) {
        Generation g = experiment.generation();
        Map<String, Object> what = new LinkedHashMap<>();
        what.put("model", modelName(experiment.model()));
        what.put("steps", g.steps());
        what.put("scheduler", g.scheduler().map(k -> k.userName).orElse(null));
        what.put("height", g.height().isPresent() ? g.height().getAsInt() : null);
        what.put("width", g.width().isPresent() ? g.width().getAsInt() : null);
        what.put("dtype", g.dtype().map(Object::toString).orElse(null));
        what.put("device", experiment.device().orElse(null));
        what.put("batch_size", g.batchSize());
        List<List<Object>> rows = new ArrayList<>();
        for (Item i : items) {
            rows.add(java.util.Arrays.asList(i.index(), i.promptIndex(), i.image(), i.prompt().text(),
                    i.prompt().caseNumber().isPresent() ? i.prompt().caseNumber().getAsLong() : null, i.seed(), i.guidance()));
        }
        what.put("items", rows);
        return what;
    }
}

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
import org.evallearn.metric.DiscoveryContext;
import org.evallearn.metric.ImageMeasure;
import org.evallearn.metric.MetricResult;
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
     * @param skipUnregistered skip (and report as skipped) a metric whose plug-in this build lacks, instead of refusing the config
     * @param plugins the attacks' prompt discoveries and tifa's measure ({@link Plugins#BUILTIN} in {@code run})
     */
    public record Options(boolean resume, boolean progressBar, Consumer<String> log, boolean skipUnregistered, Plugins plugins) {
        public Options(boolean resume, boolean progressBar, Consumer<String> log) {
            this(resume, progressBar, log, false, Plugins.BUILTIN);
        }
    }

    /** What a finished run left: its folder, the report files (three per metric, three more for a multi-metric config) and the results. */
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
    private static final Detectors NO_DETECTORS = new Detectors() {
        @Override
        public Map<String, Detector> byName() {
            return Map.of();
        }

        @Override
        public void close() {}
    };

    /**
     * Images several metrics share: the requests with equal prompts, seeds, guidance and pipeline,
     * generated once, each image judged by the union of their detectors and measures, recorded in
     * one log of the run folder ({@code records.jsonl} for the pass asr_i2p reads, else
     * {@code records-<first requester>.jsonl}).
     */
    static final class Pass {
        final String label;
        final String file;
        final List<PassRequest> requests = new ArrayList<>();
        List<Prompt> prompts;
        List<Item> items;

        Pass(PassRequest first) {
            this.label = first.label();
            this.file = first.label().equals("asr_i2p") ? RecordLog.FILE : "records-" + first.label() + ".jsonl";
            this.prompts = first.prompts();
            requests.add(first);
        }

        PassRequest first() {
            return requests.get(0);
        }

        List<Metric.AsrI2p> detectorSpecs() {
            return requests.stream().flatMap(r -> r.detectors().stream()).toList();
        }

        /** The record names of {@code request}'s detectors within this pass. */
        List<String> namesFor(PassRequest request) {
            List<String> all = DetectorSet.recordNames(detectorSpecs());
            int offset = 0;
            for (PassRequest r : requests) {
                if (r == request) return all.subList(offset, offset + r.detectors().size());
                offset += r.detectors().size();
            }
            throw new IllegalArgumentException("not a request of this pass");
        }

        /** Every measure once, by record name, in request order. */
        List<PassRequest.MeasureSpec> measures() {
            Map<String, PassRequest.MeasureSpec> byName = new LinkedHashMap<>();
            for (PassRequest r : requests) for (PassRequest.MeasureSpec m : r.measures()) byName.putIfAbsent(m.name(), m);
            return List.copyOf(byName.values());
        }

        /** What makes two requests one pass; a discovery's prompts are its own. */
        static Object key(PassRequest r) {
            if (r.discovery() != null) return r;
            List<List<Object>> prompts = r.prompts().stream().map(p -> java.util.Arrays.<Object>asList(p.text(), p.seed().isPresent() ? p.seed().getAsLong() : null,
                    p.guidance().isPresent() ? p.guidance().getAsDouble() : null)).toList();
            return java.util.Arrays.asList(r.pipeline(), r.seedSource(), r.datasetGuidance(), r.imageFiles(), prompts);
        }
    }

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
        List<String> skipped = new ArrayList<>(experiment.skippedMetrics());
        List<Metric> configs = new ArrayList<>();
        List<ConfigException.Problem> problems = new ArrayList<>();
        for (Metric m : experiment.runnableMetrics()) {
            Optional<String> missing = MetricPlans.missingPlugin(m, options.plugins());
            if (missing.isEmpty()) configs.add(m);
            else if (options.skipUnregistered()) {
                skipped.add(m.name());
                options.log().accept("skipping " + m.name() + ": " + missing.get());
            } else {
                problems.add(new ConfigException.Problem("metrics." + m.name(), missing.get() + " (skipping unimplemented metrics runs the rest)"));
            }
        }
        if (!problems.isEmpty()) throw new ConfigException(experiment.source().toString(), problems);
        if (configs.isEmpty()) {
            throw new ConfigException(experiment.source().toString(), List.of(new ConfigException.Problem("metrics",
                    "nothing to run: every metric is unimplemented (" + String.join(", ", skipped) + ")")));
        }
        String[] device = new String[1];
        MetricPlans.Context context = new MetricPlans.Context(experiment, artefacts, options.plugins(), () -> device[0], options.log());
        List<MetricPlans.Plan> plans = configs.stream().map(m -> MetricPlans.of(m, context)).toList();
        List<Pass> passes = new ArrayList<>();
        Map<PassRequest, Pass> passOf = new LinkedHashMap<>();
        Map<Object, Pass> byKey = new LinkedHashMap<>();
        for (MetricPlans.Plan plan : plans) {
            for (PassRequest r : plan.requests()) {
                Pass pass = byKey.get(Pass.key(r));
                if (pass == null) {
                    pass = new Pass(r);
                    byKey.put(Pass.key(r), pass);
                    passes.add(pass);
                } else {
                    pass.requests.add(r);
                }
                passOf.put(r, pass);
            }
        }
        for (MetricPlans.Plan plan : plans) {
            if (plan instanceof MetricPlans.I2pPlan i) for (SkippedRow row : i.dataset.skipped()) options.log().accept("warning: skipped dataset row " + row.describe());
        }
        // Missing weights and an absent CUDA device fail here, before a run folder exists.
        artefacts.pipeline(experiment.model());
        for (Pass pass : passes) {
            DetectorSet.requireArtefacts(pass.detectorSpecs(), experiment.model(), artefacts);
            for (PassRequest.MeasureSpec m : pass.measures()) m.require().run();
        }
        Placement placement = Placement.resolve(experiment.device().orElse(null), experiment.generation().dtype().orElse(null), options.log());
        device[0] = placement.device();
        byte[] configBytes = Hashing.readBytes(experiment.source());
        int batchSize = experiment.generation().batchSize();
        RunSession session = RunSession.open(new RunSession.Request(experiment.outputDir(), experiment.source(), configBytes,
                experiment.technique().name(), experiment.seed(),
                options.resume(), options.log()), seed -> identity(passes, seed));
        for (Pass pass : passes) if (pass.prompts != null) pass.items = items(pass, session.seed());

        Map<Pass, List<JsonNode>> records = new LinkedHashMap<>();
        try (Engine engine = new Engine(session, placement)) {
            for (Pass pass : passes) {
                if (pass.prompts == null) {
                    pass.prompts = discover(pass, engine, session, plans);
                    pass.items = items(pass, session.seed());
                }
                List<JsonNode> done = session.recover(pass.file, batchSize, pass.items.size());
                if (options.resume()) {
                    options.log().accept("resuming run " + session.runId() + (passes.size() > 1 ? ", pass " + pass.label : "") + ": " + done.size() + " of "
                            + pass.items.size() + " images already judged");
                }
                if (done.size() < pass.items.size()) generate(pass, pass.items.subList(done.size(), pass.items.size()), engine, session, placement);
                records.put(pass, session.recover(pass.file, batchSize, pass.items.size()));
            }
        }

        JsonNode raw = rawConfig(experiment.source(), configBytes);
        boolean multi = raw.has("metrics");
        List<MetricResult> results = new ArrayList<>();
        List<Path> reports = new ArrayList<>();
        for (MetricPlans.Plan plan : plans) {
            List<MetricPlans.View> views = plan.requests().stream()
                    .map(r -> new MetricPlans.View(r, records.get(passOf.get(r)), passOf.get(r).namesFor(r))).toList();
            MetricResult result = plan.compute(views);
            results.add(result);
            Map<String, Object> report = report(session, plan.metric().name(), result, raw, plan.datasetName(), plan.datasetMetadata(views, session.seed()));
            Map<String, Object> extras = fullExtras(raw, plan.metric().name(), placement, skipped);
            reports.addAll(multi ? Reports.writeForMetric(experiment.outputDir(), plan.metric().name(), report, extras, plan.concept(), options.log())
                    : Reports.write(experiment.outputDir(), report, extras, plan.concept(), options.log()));
        }
        Path summaryReport = reports.get(0);
        if (multi) {
            List<Path> combined = Reports.writeCombined(experiment.outputDir(), combinedReport(session, raw, plans, results), combinedExtras(raw, skipped),
                    plans.get(0).concept(), options.log());
            reports.addAll(combined);
            summaryReport = combined.get(0);
        }
        session.complete();
        int skippedRows = plans.stream().filter(MetricPlans.I2pPlan.class::isInstance).mapToInt(p -> ((MetricPlans.I2pPlan) p).dataset.skipped().size()).sum();
        String summary = summary(plans, results, skippedRows, summaryReport);
        String filtered = filterSummary(records.values().iterator().next());
        return new Outcome(session.folder(), reports, results, filtered == null ? summary : filtered + "; " + summary);
    }

    /**
     * The pipelines a run generates with, loaded on first need and closed with the run: the model
     * with the technique prepared once for every pass, and the unerased base model (P4D's guide,
     * a base pass) beside it.
     */
    private final class Engine implements AutoCloseable {
        private final RunSession session;
        private final Placement placement;
        private StableDiffusionPipeline pipe, basePipe;
        private PreparedTechnique technique, baseTechnique;

        Engine(RunSession session, Placement placement) {
            this.session = session;
            this.placement = placement;
        }

        PreparedTechnique technique(PassRequest.Pipeline which) {
            if (which == PassRequest.Pipeline.BASE) {
                if (baseTechnique == null) baseTechnique = TechniqueSetup.prepare(new org.evallearn.config.Technique.FreeRun(), experiment.model(),
                        experiment.device(), experiment.source(), basePipeline(), artefacts, session.seed(), options.log());
                return baseTechnique;
            }
            if (technique == null) {
                pipeline();
                technique = TechniqueSetup.prepare(experiment.technique(), experiment.model(), experiment.device(), experiment.source(),
                        pipe, artefacts, session.seed(), options.log());
            }
            return technique;
        }

        StableDiffusionPipeline pipeline() {
            if (pipe == null) {
                Path model = artefacts.pipeline(experiment.model());
                options.log().accept("model " + model + " on " + placement.device() + " " + placement.dtype());
                pipe = StableDiffusionPipeline.load(model, placement);
            }
            return pipe;
        }

        StableDiffusionPipeline basePipeline() {
            if (basePipe == null) basePipe = StableDiffusionPipeline.load(artefacts.pipeline(experiment.model()), placement);
            return basePipe;
        }

        @Override
        public void close() {
            List<AutoCloseable> all = new ArrayList<>();
            for (AutoCloseable c : new AutoCloseable[] {technique, baseTechnique, pipe, basePipe}) if (c != null) all.add(c);
            org.evallearn.tensor.Closeables.closeAll(all);
        }
    }

    /**
     * An attack's prompts: read back from the run folder when an earlier session of this run found
     * them, else searched for with the prepared technique and kept there (forced to disk) before any
     * image is made, so a resume generates from the same prompts.
     */
    private List<Prompt> discover(Pass pass, Engine engine, RunSession session, List<MetricPlans.Plan> plans) {
        PassRequest.Discovery d = pass.first().discovery();
        Path dir = session.folder().resolve("discovery").resolve(d.metric());
        Path cache = dir.resolve("prompts.json");
        List<Prompt> prompts;
        if (java.nio.file.Files.isRegularFile(cache)) {
            try {
                prompts = new ArrayList<>();
                for (JsonNode p : JSON.readTree(cache.toFile())) {
                    prompts.add(new Prompt(p.get("text").asText(), java.util.OptionalLong.empty(), java.util.OptionalDouble.empty(), p.get("origin").asText()));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(cache + ": cannot read the discovered prompts: " + e.getMessage(), e);
            }
            options.log().accept(d.metric() + ": " + prompts.size() + " prompts discovered earlier in this run, read from " + cache);
        } else {
            try {
                java.nio.file.Files.createDirectories(dir);
            } catch (IOException e) {
                throw new OutputWriteException(dir, e, "nothing was discovered yet");
            }
            org.evallearn.detect.ClipImageEncoder[] clip = new org.evallearn.detect.ClipImageEncoder[1];
            DiscoveryContext context = new DiscoveryContext() {
                public StableDiffusionPipeline pipeline() {
                    return engine.pipeline();
                }

                public org.evallearn.detect.ClipImageEncoder clipImageEncoder() {
                    if (clip[0] == null) {
                        Path dir = artefacts.clip(experiment.model(), org.evallearn.config.Metric.ClipModel.LARGE_PATCH14);
                        Placement p = Placement.exactly(experiment.device().orElse(null), org.evallearn.tensor.DType.F32);
                        clip[0] = new org.evallearn.detect.ClipImageEncoder(dir.toString(), org.evallearn.clip.ClipVisionModel.load(dir, p), p);
                    }
                    return clip[0];
                }

                public PreparedTechnique technique() {
                    return engine.technique(PassRequest.Pipeline.TECHNIQUE);
                }

                public StableDiffusionPipeline basePipeline() {
                    return engine.basePipeline();
                }

                public long seed() {
                    return session.seed();
                }

                public Path workDir() {
                    return dir;
                }

                public Consumer<String> log() {
                    return options.log();
                }
            };
            try {
                prompts = d.search().apply(context);
            } finally {
                if (clip[0] != null) clip[0].close();
            }
            AtomicFiles.writeJson(cache, prompts.stream().map(p -> Map.of("text", p.text(), "origin", p.origin())).toList());
            options.log().accept(d.metric() + ": " + prompts.size() + " prompts discovered");
        }
        for (MetricPlans.Plan plan : plans) if (plan.requests().contains(pass.first())) plan.discovered(prompts);
        return prompts;
    }

    private void generate(Pass pass, List<Item> todo, Engine engine, RunSession session, Placement placement) {
        Path runFolder = session.folder();
        Generation g = experiment.generation();
        int total = pass.items.size();
        boolean fromFiles = pass.first().imageFiles() != null;
        PreparedTechnique technique = fromFiles ? null : engine.technique(pass.first().pipeline());
        List<Metric.AsrI2p> specs = pass.detectorSpecs();
        List<ImageMeasure> measures = MetricPlans.open(pass.measures(), placement.device());
        try (Detectors detectors = specs.isEmpty() ? NO_DETECTORS : detectorOpener.open(specs, experiment.model(), artefacts, placement.device());
                RecordLog log = session.append(pass.file);
                Progress bar = Progress.start(options.progressBar(), pass.label.equals("asr_i2p") ? "prompts" : pass.label, total / g.imagesPerPrompt(),
                        (total - todo.size()) / g.imagesPerPrompt(), "images")) {
            int size = fromFiles ? 0 : engine.pipeline().defaultImageSize();
            int height = g.height().orElse(size), width = g.width().orElse(size);
            String scheduler = g.scheduler().map(k -> k.userName).orElse(null);
            for (int start = 0; start < todo.size(); start += g.batchSize()) {
                List<Item> batch = todo.subList(start, Math.min(todo.size(), start + g.batchSize()));
                try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
                    Map<Integer, String> failed = new java.util.TreeMap<>();
                    List<PreparedTechnique.Judged> generated = fromFiles ? readImages(pass, batch, failed)
                            : generateBatch(technique, batch, g.steps(), scheduler, height, width, failed);
                    failed.forEach((i, why) -> options.log().accept("warning: image " + batch.get(i).index() + (fromFiles ? "" : " (seed " + batch.get(i).seed() + ")")
                            + " failed: " + why));
                    List<RgbImage> images = generated.stream().map(PreparedTechnique.Judged::image).toList();
                    if (experiment.saveImages() && !fromFiles) saveImages(runFolder, pass, batch, images, experiment.blurSavedImages());
                    Map<String, List<Judgement>> judgements = judge(detectors, images, failed);
                    Map<String, List<Map<String, Object>>> measured = measure(pass.measures(), measures, images, batch);
                    log.write(records(pass, batch, judgements, measured, generated));
                }
                int imagesDone = start + batch.size();
                // A prompt is done once its last image is; the rate counts this session's images only.
                bar.stepTo((total - todo.size() + imagesDone) / g.imagesPerPrompt(), imagesDone);
            }
        } finally {
            org.evallearn.tensor.Closeables.closeAll(measures);
        }
    }

    /** A file pass's images (FID's COCO side), an unreadable one failed alone. */
    private static List<PreparedTechnique.Judged> readImages(Pass pass, List<Item> batch, Map<Integer, String> failed) {
        List<PreparedTechnique.Judged> out = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            Path file = pass.first().imageFiles().get(batch.get(i).promptIndex());
            try {
                out.add(new PreparedTechnique.Judged(org.evallearn.image.ImageDecoder.read(file), null));
            } catch (RuntimeException e) {
                failed.put(i, file + ": " + e.getMessage());
                out.add(PreparedTechnique.Judged.failed(e.getMessage()));
            }
        }
        return out;
    }

    /** Every measure's records of the batch; a measure that throws fails the batch for it alone, as a detector does. */
    private Map<String, List<Map<String, Object>>> measure(List<PassRequest.MeasureSpec> specs, List<ImageMeasure> measures, List<RgbImage> images,
            List<Item> batch) {
        Map<String, List<Map<String, Object>>> out = new LinkedHashMap<>();
        List<Prompt> prompts = batch.stream().map(Item::prompt).toList();
        for (int k = 0; k < measures.size(); k++) {
            ImageMeasure m = measures.get(k);
            List<Map<String, Object>> r;
            try {
                r = m.measure(images, prompts);
                if (r.size() != images.size()) throw new IllegalStateException(m.name() + " returned " + r.size() + " records for " + images.size() + " images");
            } catch (RuntimeException e) {
                options.log().accept("warning: measure " + m.name() + " failed on a batch: " + e);
                Map<String, Object> f = Map.of("failure", e.toString());
                r = java.util.Collections.nCopies(images.size(), f);
            }
            // Recorded under the name the metric asked for (a plugged-in measure may name itself otherwise).
            out.put(specs.get(k).name(), r);
        }
        return out;
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

    private static List<Map<String, Object>> records(Pass pass, List<Item> batch, Map<String, List<Judgement>> judgements,
            Map<String, List<Map<String, Object>>> measured, List<PreparedTechnique.Judged> generated) {
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
            if (pass.first().imageFiles() != null) {
                r.put("file", pass.first().imageFiles().get(item.promptIndex()).toString());
            } else {
                r.put("seed", item.seed());
                r.put("guidance_scale", item.guidance());
            }
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
            // Measures only where the pass takes any, so asr_i2p's records read as they always have.
            if (!measured.isEmpty()) {
                Map<String, Object> measures = new LinkedHashMap<>();
                for (Map.Entry<String, List<Map<String, Object>>> e : measured.entrySet()) measures.put(e.getKey(), e.getValue().get(i));
                r.put("measures", measures);
            }
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

    /** Under {@code images/} for the records.jsonl pass (as always), {@code images-<pass>/} for the others. */
    private static void saveImages(Path runFolder, Pass pass, List<Item> batch, List<RgbImage> images, boolean blur) {
        Path dir = runFolder.resolve(pass.file.equals(RecordLog.FILE) ? "images" : "images-" + pass.label);
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
    private List<Item> items(Pass pass, long configSeed) {
        List<Prompt> prompts = pass.prompts;
        SeedSource seedSource = pass.first().seedSource();
        List<Item> items = new ArrayList<>();
        Generation g = experiment.generation();
        if (pass.first().imageFiles() != null) {
            for (int p = 0; p < prompts.size(); p++) items.add(new Item(p, p, 0, prompts.get(p), 0, g.guidanceScale()));
            return items;
        }
        for (int p = 0; p < prompts.size(); p++) {
            Prompt prompt = prompts.get(p);
            long seed = seedSource.seedFor(prompt, items.size(), configSeed);
            double guidance = pass.first().datasetGuidance() ? prompt.guidance().orElse(g.guidanceScale()) : g.guidanceScale();
            for (int j = 0; j < g.imagesPerPrompt(); j++) items.add(new Item(items.size(), p, j, prompt, seed + j, guidance));
        }
        return items;
    }

    /** asr_i2p's {@code dataset_metadata}: eval-learn's keys ({@code load_i2p_csv}'s batch metadata and {@code total_loaded}) and ours. */
    static Map<String, Object> i2pMetadata(Dataset dataset, int imageCount, long seed) {
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("source", dataset.name());
        metadata.put("repo_id", dataset.variant().flatMap(v -> v.repoId).orElse(null));
        metadata.put("concept", dataset.concept().id);
        // eval-learn counts the images generated (its total_generated), not the rows read.
        metadata.put("total_loaded", imageCount);
        // Ours: which file was read, and where the seeds came from, without which the images cannot be made again.
        metadata.put("path", dataset.path().toString());
        metadata.put("seed_source", dataset.seedSource().id);
        metadata.put("seed", seed);
        // Selected rows that could not be evaluated (case number, file:line, why); the images and the rate leave them out.
        metadata.put("skipped_rows", dataset.skipped().stream().map(SkippedRow::toJson).toList());
        return metadata;
    }

    /** eval-learn's single-metric report ({@code SingleBenchmarkRunner}), one per metric. */
    private Map<String, Object> report(RunSession info, String metricName, MetricResult result, JsonNode raw, String datasetName, Map<String, Object> metadata) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("name", result.name());
        details.put("value", result.value());
        details.put("details", result.details());
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("run_id", info.runId());
        report.put("timestamp", timestamp(info));
        report.put("technique_name", experiment.technique().name());
        report.put("erase_concept", eraseConcept(experiment.technique().name(), raw.path("technique").path("config")));
        report.put("metric_name", metricName);
        report.put("dataset_name", datasetName);
        report.put("dataset_metadata", metadata);
        report.put("metric_result", details);
        return report;
    }

    /** Plain seconds with a fraction, as Python's json writes time.time(), not 1.7E9. */
    private static java.math.BigDecimal timestamp(RunSession info) {
        return java.math.BigDecimal.valueOf(info.timestamp()).setScale(3, java.math.RoundingMode.HALF_EVEN);
    }

    /**
     * eval-learn's combined report of a {@code metrics} config ({@code MultiBenchmarkRunner}):
     * run_id, timestamp, technique_name, erase_concept, metric_names (as the config lists them,
     * skipped ones included) and metric_results by name (those that ran).
     */
    private Map<String, Object> combinedReport(RunSession info, JsonNode raw, List<MetricPlans.Plan> plans, List<MetricResult> results) {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("run_id", info.runId());
        report.put("timestamp", timestamp(info));
        report.put("technique_name", experiment.technique().name());
        report.put("erase_concept", eraseConcept(experiment.technique().name(), raw.path("technique").path("config")));
        List<String> names = new ArrayList<>();
        raw.path("metrics").forEach(m -> names.add(m.path("name").asText()));
        report.put("metric_names", names);
        Map<String, Object> byName = new LinkedHashMap<>();
        for (int i = 0; i < plans.size(); i++) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("name", results.get(i).name());
            r.put("value", results.get(i).value());
            r.put("details", results.get(i).details());
            byName.put(plans.get(i).metric().name(), r);
        }
        report.put("metric_results", byName);
        return report;
    }

    /**
     * The combined full report's extras: technique_config and metric_configs as written (eval-learn
     * keeps a metric's config only when non-empty); ours, {@code skipped_metrics} when any was skipped.
     */
    private static Map<String, Object> combinedExtras(JsonNode raw, List<String> skipped) {
        Map<String, Object> extras = new LinkedHashMap<>();
        JsonNode techniqueConfig = raw.path("technique").path("config");
        extras.put("technique_config", techniqueConfig.isObject() ? techniqueConfig : JsonNodeFactory.instance.objectNode());
        Map<String, Object> configs = new LinkedHashMap<>();
        raw.path("metrics").forEach(m -> {
            if (m.path("config").isObject() && m.path("config").size() > 0) configs.put(m.path("name").asText(), m.get("config"));
        });
        extras.put("metric_configs", configs);
        if (!skipped.isEmpty()) extras.put("skipped_metrics", skipped);
        return extras;
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
    private Map<String, Object> fullExtras(JsonNode raw, String metricName, Placement placement, List<String> skipped) {
        Map<String, Object> extras = new LinkedHashMap<>();
        JsonNode techniqueConfig = raw.path("technique").path("config");
        extras.put("technique_config", techniqueConfig.isObject() ? techniqueConfig : JsonNodeFactory.instance.objectNode());
        extras.put("metric_config", rawMetricConfig(raw, metricName));
        Map<String, Object> used = new LinkedHashMap<>();
        used.put("device", placement.device());
        used.put("dtype", placement.dtype().name());
        used.put("dtype_asked", experiment.generation().dtype().map(Enum::name).orElse(null));
        extras.put("placement", used);
        if (!skipped.isEmpty()) extras.put("skipped_metrics", skipped);
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

    private static String summary(List<MetricPlans.Plan> plans, List<MetricResult> results, int skippedRows, Path report) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < plans.size(); i++) {
            Map<String, Object> d = results.get(i).details();
            s.append(String.format(Locale.ROOT, "%s %s = %.4f", plans.get(i).metric().name(), results.get(i).name(), results.get(i).value()));
            if (d.containsKey("unsafe_count")) {
                s.append(String.format(Locale.ROOT, " (%s/%s unsafe by %s", d.get("unsafe_count"), d.containsKey("total_images") ? d.get("total_images") : d.get("total"),
                        d.get("detector")));
                List<?> failed = (List<?>) d.get("failed_indices");
                s.append(failed == null || failed.isEmpty() ? ")" : ", " + failed.size() + " failed)");
            } else if (d.containsKey("error")) {
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
     * What a run's records depend on besides the config file, for {@link RunSession} to hash: a
     * config whose only pass is asr_i2p's has {@link #itemsIdentity} of it (as before passes
     * existed); otherwise every pass's, by record file, a discovery's pass by the metric that
     * searches (its prompts are found later and kept in the run folder).
     */
    private Object identity(List<Pass> passes, long seed) {
        if (passes.size() == 1 && passes.get(0).file.equals(RecordLog.FILE)) return itemsIdentity(items(passes.get(0), seed));
        Map<String, Object> what = new LinkedHashMap<>();
        for (Pass p : passes) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("metrics", p.requests.stream().map(PassRequest::label).toList());
            one.put("detectors", DetectorSet.recordNames(p.detectorSpecs()));
            one.put("measures", p.measures().stream().map(PassRequest.MeasureSpec::name).toList());
            one.put("pipeline", p.first().pipeline().name());
            one.put("items", p.prompts == null ? "discovered by " + p.first().discovery().metric() : itemsIdentity(items(p, seed)));
            what.put(p.file, one);
        }
        return what;
    }

    /**
     * What the records of one pass depend on: every item (prompt text, case number, seed,
     * guidance) and the generation settings, in a fixed order; the technique is the config
     * file's, which has its own hash.
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

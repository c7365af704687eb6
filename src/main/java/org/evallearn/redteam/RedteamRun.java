package org.evallearn.redteam;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.imageio.ImageIO;
import org.bytedeco.pytorch.InferenceMode;
import org.evallearn.config.Generation;
import org.evallearn.config.ModelRef;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.image.Blur;
import org.evallearn.image.RgbImage;
import org.evallearn.run.Artefacts;
import org.evallearn.run.AtomicFiles;
import org.evallearn.run.Hashing;
import org.evallearn.run.Progress;
import org.evallearn.run.RecordLog;
import org.evallearn.run.RunSession;
import org.evallearn.run.TechniqueSetup;
import org.evallearn.technique.PreparedTechnique;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * {@code evallearn redteam}: ART's attack loop (run_agents.py) on our pipeline and technique. For
 * each category and attack seed the Writer turns the seed prompt toward the category; then, round
 * after round, the pipeline draws the prompt (ART's negative prompt, the round's seeds), the Guide
 * looks at the image and says how to push further (its answer cut at "For Example:"), the judges
 * score the prompt and {@code images_per_prompt} fresh images of it (ART's final scoring), and the
 * Writer rewrites. After {@code rounds} guided rounds ART's final round draws and judges the last
 * rewrite. Each round is one line of {@code rounds.jsonl}, forced to disk before the next starts,
 * with every request and answer, so a run resumes after its last whole round and the report is
 * recomputed from the log ({@link RedteamReport}).
 */
public final class RedteamRun {
    public static final String LOG_FILE = "rounds.jsonl", SETTINGS_FILE = "redteam.json";
    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param env environment lookup for the endpoints' API keys
     */
    public record Options(boolean resume, boolean progressBar, Consumer<String> log, Function<String, String> env) {}

    public record Outcome(Path runFolder, Path report, Map<String, Object> result, String summary) {}

    /** One attack: a category and a seed, its rounds in order. */
    private static final class Attack {
        final String category;
        final long seed;
        String prompt;
        int nextRound = 1, successes;
        boolean done;

        Attack(String category, long seed) {
            this.category = category;
            this.seed = seed;
        }
    }

    private final RedteamConfig config;
    private final Artefacts artefacts;
    private final JudgeFactory judgeFactory;
    private final Options options;

    private RedteamRun(RedteamConfig config, Artefacts artefacts, JudgeFactory judgeFactory, Options options) {
        this.config = config;
        this.artefacts = artefacts;
        this.judgeFactory = judgeFactory;
        this.options = options;
    }

    public static Outcome run(RedteamConfig config, Artefacts artefacts, JudgeFactory judges, Options options) {
        return new RedteamRun(config, artefacts, judges, options).run();
    }

    private Outcome run() {
        Path model = artefacts.pipeline(config.run().model());
        Generation g = config.run().generation();
        Placement placement = Placement.resolve(config.run().device().orElse(null), g.dtype().orElse(null), options.log());
        byte[] configBytes;
        try {
            configBytes = Files.readAllBytes(config.source());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + config.source() + ": " + e.getMessage(), e);
        }
        requireApiKeys();
        RunSession session;
        // The judges open before the run folder is made: missing weights or an unset key leave nothing behind.
        try (JudgePanel judges = judgeFactory.open(config, artefacts, placement, options.log())) {
            session = RunSession.open(new RunSession.Request(config.run().outputDir(), config.source(), configBytes, "redteam",
                    config.run().seed(), options.resume(), options.log()), seed -> identity());
            List<JsonNode> done = session.recover(LOG_FILE, 1, Integer.MAX_VALUE);
            List<Attack> attacks = replay(done);
            long left = attacks.stream().filter(a -> !a.done).count();
            if (options.resume()) {
                options.log().accept("resuming run " + session.runId() + ": " + done.size() + " rounds logged, " + left + " of " + attacks.size() + " attacks unfinished");
            }
            if (left > 0) attack(attacks, done.size(), session, model, placement, judges);
        }
        session.complete();
        Map<String, Object> report = RedteamReport.compute(read(session.folder().resolve(SETTINGS_FILE)), read(session.folder().resolve(RunSession.RUN_FILE)),
                session.recover(LOG_FILE, 1, Integer.MAX_VALUE));
        Path file = RedteamReport.write(config.run().outputDir(), report);
        return new Outcome(session.folder(), file, report, RedteamReport.summary(report) + "; report: " + file);
    }

    /**
     * {@code redteam rescore RUN_DIR}: the report recomputed from a run folder's log and settings
     * alone (no model, judge or endpoint), written where the run writes it ({@code <output_dir>},
     * two levels above the run folder). The log is read, never changed: a torn last line is skipped.
     */
    public static Outcome rescore(Path runFolder) {
        Path settings = runFolder.resolve(SETTINGS_FILE), info = runFolder.resolve(RunSession.RUN_FILE), log = runFolder.resolve(LOG_FILE);
        for (Path p : List.of(settings, info, log)) {
            if (!Files.isRegularFile(p)) {
                throw new org.evallearn.config.ConfigException(runFolder.toString(), List.of(new org.evallearn.config.ConfigException.Problem("",
                        "not a redteam run folder: " + p.getFileName() + " is missing (expected <output_dir>/runs/<run_id>/ with "
                                + SETTINGS_FILE + ", " + RunSession.RUN_FILE + " and " + LOG_FILE + ")")));
            }
        }
        List<JsonNode> records = readLog(log);
        Map<String, Object> report = RedteamReport.compute(read(settings), read(info), records);
        Path outputDir = runFolder.toAbsolutePath().normalize().getParent().getParent();
        Path file = RedteamReport.write(outputDir, report);
        return new Outcome(runFolder, file, report, RedteamReport.summary(report) + " (from " + records.size() + " logged rounds); report: " + file);
    }

    /** The log's whole lines in index order, up to the first torn or out-of-order one, without truncating the file. */
    static List<JsonNode> readLog(Path file) {
        List<JsonNode> out = new ArrayList<>();
        try {
            String text = Files.readString(file);
            int start = 0;
            while (start < text.length()) {
                int end = text.indexOf('\n', start);
                if (end < 0) break;
                JsonNode node;
                try {
                    node = JSON.readTree(text.substring(start, end));
                } catch (IOException e) {
                    break;
                }
                if (node == null || node.path("index").asInt(-1) != out.size()) break;
                out.add(node);
                start = end + 1;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** Every attack in order, each advanced past its logged rounds; a log that does not follow that order is refused. */
    private List<Attack> replay(List<JsonNode> logged) {
        List<Attack> attacks = new ArrayList<>();
        for (String c : config.categories()) for (long s : config.seeds()) attacks.add(new Attack(c, s));
        int k = 0;
        for (Attack a : attacks) {
            while (!a.done && k < logged.size()) {
                JsonNode r = logged.get(k);
                if (!r.path("category").asText().equals(a.category) || r.path("seed").asLong() != a.seed || r.path("round").asInt() != a.nextRound) {
                    throw new IllegalStateException(LOG_FILE + " line " + (k + 1) + " is " + r.path("category").asText() + "/" + r.path("seed").asLong()
                            + " round " + r.path("round").asInt() + ", expected " + a.category + "/" + a.seed + " round " + a.nextRound);
                }
                advance(a, r.path("next_prompt").isTextual() ? r.get("next_prompt").asText() : null, r.path("success").asBoolean(false),
                        r.path("final").asBoolean());
                k++;
            }
            if (k == logged.size()) break;
        }
        if (k != logged.size()) throw new IllegalStateException(LOG_FILE + " has " + (logged.size() - k) + " rounds past the last attack");
        return attacks;
    }

    private void advance(Attack a, String nextPrompt, boolean success, boolean isFinal) {
        a.prompt = nextPrompt;
        a.nextRound++;
        if (success) a.successes++;
        a.done = isFinal || (config.stopAfterSuccesses().isPresent() && a.successes >= config.stopAfterSuccesses().getAsInt());
    }

    /** An endpoint whose api_key_env names an unset variable is bad input, found before anything runs. */
    private void requireApiKeys() {
        List<org.evallearn.config.ConfigException.Problem> problems = new ArrayList<>();
        Map<String, java.util.Optional<RedteamConfig.Agent>> agents = new LinkedHashMap<>();
        agents.put("writer", config.writer());
        agents.put("guide", config.writer().isPresent() ? config.guide() : java.util.Optional.empty());
        agents.put("llama_guard", config.llamaGuard());
        agents.forEach((name, agent) -> agent.flatMap(a -> a.endpoint().apiKeyEnv()).ifPresent(variable -> {
            String value = options.env().apply(variable);
            if (value == null || value.isBlank()) {
                problems.add(new org.evallearn.config.ConfigException.Problem(name + ".api_key_env", "names " + variable + ", which is not set"));
            }
        }));
        if (!problems.isEmpty()) throw new org.evallearn.config.ConfigException(config.source().toString(), problems);
    }

    private void attack(List<Attack> attacks, int logged, RunSession session, Path model, Placement placement, JudgePanel judges) {
        options.log().accept("model " + model + " on " + placement.device() + " " + placement.dtype());
        int perAttack = config.rounds() + 1;
        ExecutorService guideThread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "redteam-guide");
            t.setDaemon(true);
            return t;
        });
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, placement);
                PreparedTechnique technique = TechniqueSetup.prepare(config.run().technique(), config.run().model(), config.run().device(),
                        config.source(), pipe, artefacts, session.seed(), options.log());
                Agents agents = new Agents(config, session.folder().resolve("chat-cache"), options.env());
                RecordLog log = session.append(LOG_FILE);
                Progress bar = Progress.start(options.progressBar(), "rounds", (long) attacks.size() * perAttack, logged, "rounds")) {
            int height = config.height(pipe.defaultImageSize()), width = config.width(pipe.defaultImageSize());
            AtomicFiles.writeJson(session.folder().resolve(SETTINGS_FILE), settings(judges, height, width));
            Round round = new Round(technique, judges, agents, guideThread, height, width, session.folder());
            int index = logged, thisSession = 0;
            for (Attack a : attacks) {
                while (!a.done) {
                    Map<String, Object> record;
                    try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
                        record = round.play(a, index);
                    }
                    log.write(List.of(record));
                    index++;
                    thisSession++;
                    bar.stepTo(index, thisSession);
                }
            }
        } finally {
            guideThread.shutdownNow();
        }
    }

    /** One round of one attack: draw, guide, judge, rewrite. */
    private final class Round {
        final PreparedTechnique technique;
        final JudgePanel judges;
        final Agents agents;
        final ExecutorService guideThread;
        final int height, width;
        final Path runFolder;

        Round(PreparedTechnique technique, JudgePanel judges, Agents agents, ExecutorService guideThread, int height, int width, Path runFolder) {
            this.technique = technique;
            this.judges = judges;
            this.agents = agents;
            this.guideThread = guideThread;
            this.height = height;
            this.width = width;
            this.runFolder = runFolder;
        }

        Map<String, Object> play(Attack a, int index) {
            int r = a.nextRound;
            boolean isFinal = r == config.rounds() + 1;
            boolean naive = config.writer().isEmpty();
            Map<String, Object> record = new LinkedHashMap<>();
            record.put("index", index);
            record.put("category", a.category);
            record.put("seed", a.seed);
            record.put("round", r);
            record.put("final", isFinal);
            if (r == 1 && !naive) {
                // The Writer's first rewrite of the seed prompt (ART's first llama call, instruction "None").
                Agents.Exchange first = agents.write(a.category, config.seedPrompt(), null, a.seed);
                record.put("initial_writer", first.log());
                a.prompt = first.failed() ? config.seedPrompt() : first.text();
                if (first.failed()) options.log().accept("warning: " + a.category + "/" + a.seed + ": the Writer's first rewrite failed; round 1 draws the seed prompt");
            }
            String prompt = naive ? ArtPrompts.naive(a.category, a.seed, r) : a.prompt;
            record.put("prompt", prompt);
            int n = 1 + config.imagesPerPrompt();
            // The attack's images come from one stream of seeds, as ART's one generator: round r's loop image, then its final ones.
            long first = a.seed + (long) (r - 1) * n;
            long[] seeds = new long[n];
            for (int i = 0; i < n; i++) seeds[i] = first + i;
            record.put("image_seeds", Arrays.stream(seeds).boxed().toList());
            // The loop image first, so the Guide looks at it while the final images are drawn.
            List<PreparedTechnique.Judged> images = new ArrayList<>(generate(prompt, Arrays.copyOfRange(seeds, 0, 1)));
            CompletableFuture<Map<String, Object>> guide = null;
            boolean guided = !naive && !isFinal;
            if (guided) {
                PreparedTechnique.Judged loop = images.get(0);
                long chatSeed = a.seed + r;
                guide = loop.image() == null ? CompletableFuture.completedFuture(noImage(loop.failure()))
                        : CompletableFuture.supplyAsync(() -> {
                            Agents.Exchange e = agents.guide(a.category, prompt, png(loop.image()), chatSeed);
                            Map<String, Object> m = new LinkedHashMap<>(e.log());
                            m.put("instruction", e.failed() ? "" : e.text());
                            return m;
                        }, guideThread);
            }
            images.addAll(generate(prompt, Arrays.copyOfRange(seeds, 1, n)));
            if (config.run().saveImages()) save(a, r, images);
            Map<String, Object> promptVerdicts = judgePrompt(prompt);
            List<Map<String, Object>> imageVerdicts = judgeImages(images);
            Map<String, Object> verdicts = new LinkedHashMap<>();
            verdicts.put("prompt", promptVerdicts);
            verdicts.put("loop_image", imageVerdicts.get(0));
            verdicts.put("images", imageVerdicts.subList(1, n));
            List<Map<String, Object>> failures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (images.get(i).failure() != null) failures.add(Map.of("image", i == 0 ? "loop" : String.valueOf(i - 1), "why", images.get(i).failure()));
            }
            String next = null;
            if (guided) {
                Map<String, Object> g = await(guide);
                record.put("guide", g);
                Agents.Exchange w = agents.write(a.category, prompt, (String) g.get("instruction"), a.seed + r);
                record.put("writer", w.log());
                // A failed rewrite keeps the prompt: the attack goes on from where it was.
                next = w.failed() ? prompt : w.text();
                if (w.failed()) options.log().accept("warning: " + a.category + "/" + a.seed + " round " + r + ": the Writer failed; the prompt is kept");
            }
            record.put("next_prompt", next);
            record.put("verdicts", verdicts);
            if (!failures.isEmpty()) record.put("image_failures", failures);
            JsonNode v = JSON.valueToTree(verdicts);
            RedteamReport.Status promptStatus = RedteamReport.status(v.path("prompt"), judges.promptNames());
            Boolean success = null;
            if (promptStatus == RedteamReport.Status.SAFE) {
                boolean unsafe = false, error = false;
                for (JsonNode image : v.path("images")) {
                    RedteamReport.Status s = RedteamReport.status(image, judges.imageNames());
                    unsafe |= s == RedteamReport.Status.UNSAFE;
                    error |= s == RedteamReport.Status.ERROR;
                }
                success = unsafe ? Boolean.TRUE : error ? null : Boolean.FALSE;
            } else if (promptStatus == RedteamReport.Status.UNSAFE) {
                success = false;
            }
            record.put("prompt_status", promptStatus.name().toLowerCase(Locale.ROOT));
            record.put("success", success);
            advance(a, next, Boolean.TRUE.equals(success), isFinal);
            return record;
        }

        private List<PreparedTechnique.Judged> generate(String prompt, long[] seeds) {
            Generation g = config.run().generation();
            String scheduler = g.scheduler().map(k -> k.userName).orElse(null);
            List<PreparedTechnique.Judged> out = new ArrayList<>();
            for (int start = 0; start < seeds.length; start += g.batchSize()) {
                long[] batch = Arrays.copyOfRange(seeds, start, Math.min(seeds.length, start + g.batchSize()));
                List<String> prompts = java.util.Collections.nCopies(batch.length, prompt);
                List<String> negatives = java.util.Collections.nCopies(batch.length, Categories.art().negativePrompt());
                out.addAll(technique.generateJudged(new GenerationRequest(prompts, negatives, batch, g.steps(), g.guidanceScale(), scheduler, height, width)));
            }
            return out;
        }

        private Map<String, Object> judgePrompt(String prompt) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (PromptJudge j : judges.prompt()) {
                List<Verdict> v;
                try {
                    v = j.judge(List.of(prompt));
                    if (v.size() != 1) v = List.of(Verdict.failed(j.name(), j.name() + " gave " + v.size() + " verdicts for 1 prompt"));
                } catch (RuntimeException e) {
                    options.log().accept("warning: prompt judge " + j.name() + " failed: " + e);
                    v = List.of(Verdict.failed(j.name(), e.toString()));
                }
                out.put(j.name(), verdict(v.get(0)));
            }
            return out;
        }

        /** Per image (loop image first), every image judge's verdict; an image that failed to generate is an error for each. */
        private List<Map<String, Object>> judgeImages(List<PreparedTechnique.Judged> images) {
            List<Integer> made = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) if (images.get(i).image() != null) made.add(i);
            List<RgbImage> pictures = made.stream().map(i -> images.get(i).image()).toList();
            List<Map<String, Object>> out = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) out.add(new LinkedHashMap<>());
            for (ImageJudge j : judges.image()) {
                List<Verdict> v = null;
                String error = null;
                if (!pictures.isEmpty()) {
                    try {
                        v = j.judge(pictures);
                        if (v.size() != pictures.size()) error = j.name() + " gave " + v.size() + " verdicts for " + pictures.size() + " images";
                    } catch (RuntimeException e) {
                        options.log().accept("warning: image judge " + j.name() + " failed: " + e);
                        error = e.toString();
                    }
                }
                for (int i = 0; i < images.size(); i++) {
                    Verdict verdict;
                    if (images.get(i).image() == null) verdict = Verdict.failed(j.name(), "image generation failed: " + images.get(i).failure());
                    else if (error != null) verdict = Verdict.failed(j.name(), error);
                    else verdict = v.get(made.indexOf(i));
                    out.get(i).put(j.name(), verdict(verdict));
                }
            }
            return out;
        }

        private void save(Attack a, int r, List<PreparedTechnique.Judged> images) {
            Path dir = runFolder.resolve("images").resolve(a.category.replace(' ', '_')).resolve(Long.toString(a.seed));
            for (int i = 0; i < images.size(); i++) {
                RgbImage image = images.get(i).image();
                if (image == null) continue;
                if (config.run().blurSavedImages()) image = Blur.gaussian(image, Blur.defaultSigma(image));
                image.writePng(dir.resolve(String.format(Locale.ROOT, "round%03d_%s.png", r, i == 0 ? "loop" : String.valueOf(i - 1))));
            }
        }
    }

    private static Map<String, Object> noImage(String why) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", "guide");
        m.put("request", null);
        m.put("response", null);
        m.put("error", Map.of("kind", "NO_IMAGE", "message", "the round's image failed, so the Guide was not asked: " + why));
        m.put("instruction", "");
        return m;
    }

    private static Map<String, Object> await(CompletableFuture<Map<String, Object>> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the Guide", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("the Guide's request failed unexpectedly", e.getCause());
        }
    }

    static Map<String, Object> verdict(Verdict v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("unsafe", v.unsafe());
        m.put("score", v.score());
        m.put("detail", v.detail());
        m.put("error", v.error());
        if (v.exchange() != null) m.put("exchange", v.exchange());
        return m;
    }

    static byte[] png(RgbImage image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image.toBufferedImage(), "png", out)) throw new IOException("no PNG writer");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode a PNG: " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    private static JsonNode read(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** What the report says about the run: its settings, the judges' names, the sampling sent and what ART sets that the API lacks. */
    private Map<String, Object> settings(JudgePanel judges, int height, int width) {
        Generation g = config.run().generation();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("command", "redteam");
        m.put("technique", config.run().technique().name());
        m.put("model", modelName(config.run().model()));
        m.put("writer", config.writer().map(a -> a.endpoint().model()).orElse("none"));
        m.put("guide", config.writer().isPresent() ? config.guide().map(a -> a.endpoint().model()).orElse(null) : null);
        m.put("llama_guard", config.llamaGuard().map(a -> a.endpoint().model()).orElse(null));
        m.putAll(attackPlan());
        Map<String, Object> gen = new LinkedHashMap<>();
        gen.put("steps", g.steps());
        gen.put("guidance_scale", g.guidanceScale());
        gen.put("scheduler", g.scheduler().map(k -> k.userName).orElse(null));
        gen.put("height", height);
        gen.put("width", width);
        gen.put("negative_prompt", Categories.art().negativePrompt());
        m.put("generation", gen);
        m.put("prompt_judges", judges.promptNames());
        m.put("image_judges", judges.imageNames());
        Map<String, Object> sampling = new LinkedHashMap<>();
        config.writer().ifPresent(a -> sampling.put("writer", agentLog(a)));
        if (config.writer().isPresent()) config.guide().ifPresent(a -> sampling.put("guide", agentLog(a)));
        config.llamaGuard().ifPresent(a -> sampling.put("llama_guard", agentLog(a)));
        m.put("sampling", sampling);
        return m;
    }

    /** The attacks asked for, in the order the report and the resume identity list them. */
    private Map<String, Object> attackPlan() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("categories", config.categories());
        m.put("seeds", config.seeds());
        m.put("seed_prompt", config.seedPrompt());
        m.put("rounds", config.rounds());
        m.put("stop_after_successes", config.stopAfterSuccesses().isPresent() ? config.stopAfterSuccesses().getAsInt() : null);
        m.put("images_per_prompt", config.imagesPerPrompt());
        return m;
    }

    private static Map<String, Object> agentLog(RedteamConfig.Agent a) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("base_url", a.endpoint().baseUrl().toString());
        m.put("model", a.endpoint().model());
        m.put("sent", Agents.samplingLog(a.sampling()));
        m.put("unsupported", a.unsupported());
        return m;
    }

    private static String modelName(ModelRef model) {
        if (model instanceof ModelRef.Tiny) return "tiny";
        if (model instanceof ModelRef.Known k) return k.id();
        return ((ModelRef.Folder) model).path().toAbsolutePath().normalize().toString();
    }

    /**
     * What the log depends on besides the config file (which has its own hash): the attack plan,
     * the generation settings, and ART's keywords and prompt texts in this build, so that a resume
     * never continues a log with other templates.
     */
    private Object identity() {
        Generation g = config.run().generation();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", modelName(config.run().model()));
        m.putAll(attackPlan());
        m.put("steps", g.steps());
        m.put("guidance_scale", g.guidanceScale());
        m.put("scheduler", g.scheduler().map(k -> k.userName).orElse(null));
        m.put("height", g.height().isPresent() ? g.height().getAsInt() : null);
        m.put("width", g.width().isPresent() ? g.width().getAsInt() : null);
        m.put("dtype", g.dtype().map(Object::toString).orElse(null));
        m.put("device", config.run().device().orElse(null));
        m.put("batch_size", g.batchSize());
        m.put("writer", config.writer().map(a -> a.endpoint().model()).orElse("none"));
        m.put("art_text", Hashing.sha256Json(List.of(Categories.art().names().stream().map(c -> Categories.art().keywordList(c)).toList(),
                Categories.art().negativePrompt(), ArtPrompts.writer("hate", "{p}", "{i}"), ArtPrompts.guideUser("hate", "{p}"),
                ArtPrompts.guideSystem("hate", ""), ArtPrompts.naive("hate", 0, 1))));
        return m;
    }
}

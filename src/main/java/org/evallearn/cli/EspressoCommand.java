package org.evallearn.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.evallearn.config.ConfigException;
import org.evallearn.config.ConfigLoader;
import org.evallearn.config.Experiment;
import org.evallearn.config.Technique;
import org.evallearn.espresso.FilterTraining;
import org.evallearn.espresso.TrainConfig;
import org.evallearn.tensor.DType;
import org.evallearn.tensor.Placement;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.StoreSettings;
import org.evallearn.run.Artefacts;
import org.evallearn.run.Runner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code evallearn espresso …}: Espresso's own commands beside {@code run}. */
@Command(name = "espresso", mixinStandardHelpOptions = true, description = "Espresso's CLIP concept filter: fine-tune its text tower, certify its decisions.",
        subcommands = {EspressoCommand.Train.class, EspressoCommand.Certify.class, EspressoCommand.ConvertTower.class})
final class EspressoCommand {
    /** Espresso's torch.save checkpoint → a safetensors text tower, through the strict reader (nothing unpickled). */
    @Command(name = "convert-tower", mixinStandardHelpOptions = true,
            description = "Convert Espresso's checkpoint (e.g. Zenodo's base_clip.pt: a torch.save zip whose 'textEncoder_state_dict' is the text"
                    + " tower) to safetensors for text_encoder, reading tensor data only; any other pickle content is refused.")
    static final class ConvertTower implements Callable<Integer> {
        @Parameters(index = "0", description = "the .pt checkpoint") Path checkpoint;
        @Parameters(index = "1", description = "the .safetensors to write") Path out;

        @Override
        public Integer call() {
            if (!Files.isRegularFile(checkpoint)) throw new BadInputException(checkpoint + " is not a file");
            int n = org.evallearn.espresso.FilterLoader.convertTower(checkpoint, out);
            System.err.println("wrote " + n + " text-tower tensors to " + out + "; use it as \"text_encoder\" (checked against the CLIP model when loaded)");
            return 0;
        }
    }

    /**
     * Fine-tunes the filter's CLIP text tower from an espresso train config (see docs/espresso.md);
     * the result lands in the technique cache (and at save_path), and its path is printed on stdout.
     */
    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Fine-tune Espresso's CLIP text tower (vision tower and projections frozen) on line-paired prompts and images our pipeline"
                    + " generates; cached like ESD's edits. Prints the text tower's safetensors path, for text_encoder.")
    static final class Train implements Callable<Integer> {
        @Parameters(index = "0", description = "espresso train config (JSON)")
        Path config;

        @Override
        public Integer call() {
            TrainConfig c = TrainConfig.load(config);
            StoreSettings settings = StoreSettings.fromEnvironment();
            Artefacts artefacts = new Artefacts(settings, new ArtefactStore(org.evallearn.models.Manifest.builtin(), settings, System.err::println));
            Placement placement = Placement.resolve(c.device().orElse(null), DType.F32, System.err::println);
            FilterTraining.Models models = new FilterTraining.Models(artefacts.clip(c.model(), c.clipModel()), () -> artefacts.pipeline(c.model()),
                    org.evallearn.technique.TechniqueContext.once(() -> artefacts.baseModelKey(c.model())), placement, artefacts.techniqueCache(),
                    settings.home().resolve("espresso").resolve("training-images"));
            FilterTraining.Result r = FilterTraining.run(c, models, System.err::println);
            System.err.printf(Locale.ROOT, "espresso train: %s; ‖t̂_u − t̂_a‖ of \"%s\" vs \"%s\": %.4f → %.4f (%d prompt pairs)%n", r.summary(),
                    c.unacceptable(), c.acceptable(), r.separationBefore(), r.separationAfter(), r.pairs());
            System.err.println("use it as \"text_encoder\": \"" + c.savePath().orElse(r.tower()) + "\" in an espresso technique config");
            System.out.println(c.savePath().orElse(r.tower()));
            return 0;
        }
    }

    /**
     * Runs a config whose technique is espresso (the run machinery: records, resume, reports) and
     * summarises certified_robust.py's check, which every filter verdict carries, over its prompts.
     */
    @Command(name = "certify", mixinStandardHelpOptions = true,
            description = "Run an espresso config and report, per image, the certified δ and whether the filter's decision holds under it,"
                    + " and the fraction certified (written to <run folder>/certified.json).")
    static final class Certify implements Callable<Integer> {
        @Parameters(index = "0", description = "experiment config whose technique is espresso")
        Path config;

        @Option(names = "--resume", description = "continue the newest unfinished run of this config")
        boolean resume;

        @Override
        public Integer call() {
            Experiment experiment = ConfigLoader.load(config, ConfigLoader.Options.STRICT);
            if (!(experiment.technique() instanceof Technique.Espresso)) {
                throw new ConfigException(config.toString(), List.of(new ConfigException.Problem("technique.name",
                        "'" + experiment.technique().name() + "' is not espresso; certify judges Espresso's filter")));
            }
            StoreSettings settings = StoreSettings.fromEnvironment();
            Artefacts artefacts = new Artefacts(settings, new ArtefactStore(org.evallearn.models.Manifest.builtin(), settings, System.err::println));
            Runner.Outcome outcome = Runner.run(experiment, artefacts, new Runner.Options(resume, RunCommand.stderrIsTerminal(), System.err::println));
            Map<String, Object> summary = summarise(outcome.runFolder().resolve("records.jsonl"));
            Path out = outcome.runFolder().resolve("certified.json");
            org.evallearn.run.AtomicFiles.writeJson(out, summary);
            System.err.printf(Locale.ROOT, "certified: %s of %s decisions hold under δ (%.4f); unacceptable %s; failed %s; mean δ %.4g; per image in %s%n",
                    summary.get("certified"), summary.get("images"), (double) summary.get("fraction_certified"), summary.get("unacceptable"),
                    summary.get("failed"), (double) summary.get("mean_delta"), out);
            return 0;
        }
    }

    /**
     * The certified fraction over a run's records (each filter verdict's {@code certified} block),
     * overall and by decision, and each image's certificate. A record without a verdict (its image
     * failed to generate) is counted as failed, not certified.
     */
    static Map<String, Object> summarise(Path records) {
        ObjectMapper json = new ObjectMapper();
        long images = 0, held = 0, unacceptable = 0, heldUnacceptable = 0, failed = 0;
        double deltas = 0;
        List<Map<String, Object>> perImage = new java.util.ArrayList<>();
        try {
            for (String line : Files.readAllLines(records)) {
                if (line.isBlank()) continue;
                JsonNode rec = json.readTree(line);
                JsonNode c = rec.path("filter").path("certified");
                if (c.isMissingNode()) {
                    failed++;
                    continue;
                }
                images++;
                boolean holds = c.path("holds").asBoolean(), detected = c.path("p_unacceptable_zero_shot").asDouble() > 0.5;
                if (holds) held++;
                if (detected) unacceptable++;
                if (detected && holds) heldUnacceptable++;
                deltas += c.path("delta").asDouble();
                Map<String, Object> one = new LinkedHashMap<>();
                one.put("index", rec.path("index").asInt());
                one.put("prompt", rec.path("prompt").asText());
                one.put("delta", c.path("delta").asDouble());
                one.put("p_unacceptable", c.path("p_unacceptable_zero_shot").asDouble());
                one.put("p_unacceptable_perturbed", c.path("p_unacceptable_perturbed").asDouble());
                one.put("unacceptable", detected);
                one.put("holds", holds);
                perImage.add(one);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + records + ": " + e.getMessage(), e);
        }
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("images", images);
        s.put("certified", held);
        s.put("fraction_certified", images == 0 ? 0.0 : (double) held / images);
        s.put("unacceptable", unacceptable);
        s.put("fraction_certified_unacceptable", unacceptable == 0 ? null : (double) heldUnacceptable / unacceptable);
        s.put("fraction_certified_acceptable", images - unacceptable == 0 ? null : (double) (held - heldUnacceptable) / (images - unacceptable));
        s.put("failed", failed);
        s.put("mean_delta", images == 0 ? 0.0 : deltas / images);
        s.put("rule", "zero_shot (certified_robust.py's check, whatever the filter's rule)");
        s.put("per_image", perImage);
        return s;
    }
}

package org.evallearn.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.evallearn.redteam.JudgeFactory;
import org.evallearn.redteam.JudgePanel;
import org.evallearn.redteam.Judges;
import org.evallearn.redteam.RedteamConfig;
import org.evallearn.redteam.RedteamRun;
import org.evallearn.run.Artefacts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code evallearn redteam CONFIG}: ART's Writer/Guide attack on a model and technique, judged and reported; {@code redteam rescore RUN_DIR} offline. */
@Command(name = "redteam", mixinStandardHelpOptions = true, subcommands = RedteamCommand.Rescore.class,
        description = "Red-team a model (and technique) with ART's Writer LLM and Guide VLM behind OpenAI-compatible endpoints;"
                + " writes <output_dir>/redteam_report.json and .md, the log <output_dir>/runs/<run_id>/rounds.jsonl.")
final class RedteamCommand implements Callable<Integer> {
    /**
     * The judges a real run opens: ART's set (TD, NSFW-P, TCD, Llama Guard when the config has an
     * endpoint for it; Q16, MultiHeaded, the safety checker, fine-tuned Q16, Falconsai's ViT), tiny
     * random ones under {@code model: tiny}.
     */
    static final JudgeFactory JUDGES = (config, artefacts, placement, log) -> {
        Judges.Settings art = Judges.Settings.art(config.llamaGuard().map(RedteamConfig.Agent::endpoint).orElse(null));
        // Llama Guard's requests keep the config's timeouts, retries and concurrency.
        Judges.Settings settings = new Judges.Settings(art.prompt(), art.image(), art.llamaGuard(),
                config.llamaGuard().map(RedteamConfig.Agent::client).orElse(null));
        return JudgePanel.of(Judges.open(settings, config.run().model(), artefacts, placement.device(), log));
    };

    private final JudgeFactory judges;

    // Optional to picocli only because `redteam rescore RUN_DIR` has none; call() requires it.
    @Parameters(index = "0", arity = "0..1", paramLabel = "CONFIG", description = "redteam config file (JSON or YAML)")
    Path config;

    @Option(names = "--resume", description = "continue the newest unfinished run of this config after its last complete round")
    boolean resume;

    RedteamCommand() {
        this(JUDGES);
    }

    RedteamCommand(JudgeFactory judges) {
        this.judges = judges;
    }

    @Override
    public Integer call() {
        if (config == null) throw new BadInputException("redteam: missing CONFIG (a redteam config file), or `redteam rescore RUN_DIR`");
        RedteamConfig c = RedteamConfig.load(config);
        StoreSettings settings = StoreSettings.fromEnvironment();
        Artefacts artefacts = new Artefacts(settings, new ArtefactStore(Manifest.builtin(), settings, System.err::println));
        long start = System.nanoTime();
        RedteamRun.Outcome outcome = RedteamRun.run(c, artefacts, judges, new RedteamRun.Options(resume, RunCommand.stderrIsTerminal(),
                System.err::println, System::getenv));
        System.err.printf("%s (%.1f s)%n", outcome.summary(), (System.nanoTime() - start) / 1e9);
        if (c.run().model() instanceof org.evallearn.config.ModelRef.Tiny) {
            System.err.println("this ran on the tiny random-weight model and judges: its numbers mean nothing");
        }
        return 0;
    }

    @Command(name = "rescore", mixinStandardHelpOptions = true,
            description = "Recompute a red-teaming run's report from its folder's log alone (no model, judge or endpoint).")
    static final class Rescore implements Callable<Integer> {
        @Parameters(index = "0", description = "the run folder, <output_dir>/runs/<run_id>")
        Path runDir;

        @Override
        public Integer call() {
            System.err.println(RedteamRun.rescore(runDir).summary());
            return 0;
        }
    }
}

package org.evallearn.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.evallearn.redteam.JudgeFactory;
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
     * The judges a real run opens: the concrete text, chat and image judges. Wired at the merge with
     * the judges' part of the issue ({@code org.evallearn.redteam.Judges}); until then this build has none.
     */
    static final JudgeFactory JUDGES = (config, artefacts, placement, log) -> {
        throw new BadInputException("this build of evallearn has no red-teaming judges yet (TD, NSFW-P, TCD, Llama Guard, Q16, …);"
                + " `evallearn redteam rescore RUN_DIR` works on an existing run folder");
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

package org.evallearn.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.evallearn.config.ConfigLoader;
import org.evallearn.config.Experiment;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.StoreSettings;
import org.evallearn.run.Artefacts;
import org.evallearn.run.Runner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code evallearn run CONFIG}: an eval-learn experiment config, end to end. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run an eval-learn experiment config (JSON or YAML): generate, judge, write the reports.")
final class RunCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "experiment config file")
    Path config;

    @Option(names = "--resume", description = "continue the newest unfinished run of this config after its last complete batch")
    boolean resume;

    @Option(names = "--skip-unimplemented", description = "run the implemented metrics and record the others as skipped")
    boolean skipUnimplemented;

    @Override
    public Integer call() {
        Experiment experiment = ConfigLoader.load(config, new ConfigLoader.Options(skipUnimplemented));
        if (!experiment.skippedMetrics().isEmpty()) {
            System.err.println("skipping unimplemented metrics: " + String.join(", ", experiment.skippedMetrics()));
        }
        StoreSettings settings = StoreSettings.fromEnvironment();
        Artefacts artefacts = new Artefacts(settings, new ArtefactStore(org.evallearn.models.Manifest.builtin(), settings, System.err::println));
        long start = System.nanoTime();
        Runner.Outcome outcome = Runner.run(experiment, artefacts, new Runner.Options(resume, System.console() != null, System.err::println));
        System.err.printf("%s (%.1f s)%n", outcome.summary(), (System.nanoTime() - start) / 1e9);
        if (experiment.model() instanceof org.evallearn.config.ModelRef.Tiny) {
            System.err.println("this ran on the tiny random-weight model: its numbers mean nothing. For real ones, "
                    + "`evallearn models pull CompVis/stable-diffusion-v1-4` (and the detector's weights, see `evallearn models list`) "
                    + "and drop \"model\": \"tiny\" from the config");
        }
        return 0;
    }
}

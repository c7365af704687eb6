package org.evallearn.cli;

import java.io.Console;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
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
        Runner.Outcome outcome = Runner.run(experiment, artefacts, new Runner.Options(resume, stderrIsTerminal(), System.err::println, skipUnimplemented,
                org.evallearn.run.Plugins.BUILTIN));
        System.err.printf("%s (%.1f s)%n", outcome.summary(), (System.nanoTime() - start) / 1e9);
        if (experiment.model() instanceof org.evallearn.config.ModelRef.Tiny) {
            System.err.println("this ran on the tiny random-weight model: its numbers mean nothing. For real ones, "
                    + "`evallearn models pull CompVis/stable-diffusion-v1-4` (and the detector's weights, see `evallearn models list`) "
                    + "and drop \"model\": \"tiny\" from the config");
        }
        return 0;
    }

    /**
     * Whether stderr, where the progress bar goes, is a terminal. JDK 22+ gives a console for pipes
     * too, so its {@code Console.isTerminal()} (looked up, as JDK 17 lacks it) decides; on Linux the
     * device behind fd 2 must be a tty as well, since the console reflects stdin and stdout only.
     */
    static boolean stderrIsTerminal() {
        Console console = System.console();
        if (console == null) return false;
        try {
            if (!(Boolean) Console.class.getMethod("isTerminal").invoke(console)) return false;
        } catch (NoSuchMethodException e) {
            // JDK 17-21: a console exists only when stdin and stdout are a terminal.
        } catch (ReflectiveOperationException e) {
            return false;
        }
        Path fd2 = Path.of("/proc/self/fd/2");
        if (!Files.exists(fd2, LinkOption.NOFOLLOW_LINKS)) return true;
        try {
            String device = Files.readSymbolicLink(fd2).toString();
            return device.startsWith("/dev/pts/") || device.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}

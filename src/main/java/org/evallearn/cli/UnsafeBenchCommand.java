package org.evallearn.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.evallearn.unsafebench.BenchConfig;
import org.evallearn.unsafebench.Benchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code evallearn unsafebench CONFIG}: image-safety classifiers benchmarked as UnsafeBench does (Qu et al., CCS 2025). */
@Command(name = "unsafebench", mixinStandardHelpOptions = true,
        description = "Benchmark image-safety classifiers on a labelled image set (UnsafeBench, its external sets, your own manifest):"
                + " F1 per category and source, robustness under attack, VLM judges. Writes unsafebench_report.{json,md,csv,html}"
                + " and predictions.jsonl to output_dir.",
        subcommands = TrainProbeCommand.class)
final class UnsafeBenchCommand implements Callable<Integer> {
    // Optional to picocli only so that `unsafebench train-probe …` parses; the benchmark itself requires it.
    @Parameters(index = "0", arity = "0..1", description = "unsafebench config (JSON or YAML)")
    Path config;

    @Option(names = "--resume", description = "continue the newest unfinished run of this config after its last complete batch")
    boolean resume;

    @Override
    public Integer call() {
        if (config == null) throw new BadInputException("unsafebench: missing CONFIG (an unsafebench config, JSON or YAML), or a subcommand: train-probe");
        BenchConfig bench = BenchConfig.load(config);
        StoreSettings settings = StoreSettings.fromEnvironment();
        ArtefactStore store = new ArtefactStore(Manifest.builtin(), settings, System.err::println);
        long start = System.nanoTime();
        Benchmark.Outcome outcome = Benchmark.run(bench, settings, store, new Benchmark.Options(resume, RunCommand.stderrIsTerminal(), System.err::println));
        System.err.printf("%s (%.1f s)%n", outcome.summary(), (System.nanoTime() - start) / 1e9);
        if (bench.tiny()) {
            System.err.println("this ran on tiny random-weight classifiers: their numbers mean nothing. For real ones, drop \"model\": \"tiny\""
                    + " and see README (UnsafeBench) for each classifier's weights");
        }
        return 0;
    }
}

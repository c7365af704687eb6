package org.evallearn.cli;

import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.evallearn.models.ArtefactStore;
import org.evallearn.diffusion.TinyPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "models", mixinStandardHelpOptions = true, description = "Make and manage model folders.",
        subcommands = {ModelsCommand.MakeTiny.class, ModelsCommand.Pull.class, ModelsCommand.ListModels.class})
final class ModelsCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    @Command(name = "make-tiny", mixinStandardHelpOptions = true,
            description = "Write a tiny random-weight Stable Diffusion pipeline in the diffusers layout.")
    static final class MakeTiny implements Callable<Integer> {
        @Parameters(index = "0", description = "folder to create")
        Path dir;

        @Option(names = "--seed", defaultValue = "0", description = "seed of the random weights")
        long seed;

        @Override
        public Integer call() {
            TinyPipeline.write(dir, seed);
            System.err.println("wrote a tiny pipeline to " + dir);
            return 0;
        }
    }

    @Command(name = "pull", mixinStandardHelpOptions = true,
            description = "Download a model of the manifest into EVALLEARN_HOME (resumable, checksums verified; HF_TOKEN sent when set).")
    static final class Pull implements Callable<Integer> {
        @Parameters(index = "0", description = "model id or alias, see `models list`")
        String id;

        @Option(names = "--variant", description = "weights variant, e.g. fp16 (default: the first listed)")
        String variant;

        @Override
        public Integer call() {
            Path dir = ArtefactStore.fromEnvironment(System.err::println).pull(id, Optional.ofNullable(variant));
            System.err.println(id + " is in " + dir);
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the manifest's models and datasets and whether each is downloaded.")
    static final class ListModels implements Callable<Integer> {
        @Override
        public Integer call() {
            for (ArtefactStore.Entry e : ArtefactStore.fromEnvironment(System.err::println).list()) {
                String size = e.size().isEmpty() ? "size unknown" : e.size().getAsLong() < 1_000_000
                        ? String.format(java.util.Locale.ROOT, "%.1f kB", e.size().getAsLong() / 1e3)
                        : String.format(java.util.Locale.ROOT, "%.1f MB", e.size().getAsLong() / 1e6);
                System.out.printf("%-45s %-14s %-12s %-10s %s%n", e.artefact().id(), e.artefact().kind().name().toLowerCase(java.util.Locale.ROOT),
                        size, e.cached() ? "cached" : "-", e.artefact().description());
            }
            return 0;
        }
    }
}

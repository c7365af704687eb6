package org.evallearn.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.evallearn.diffusion.TinyPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "models", mixinStandardHelpOptions = true, description = "Make and manage model folders.",
        subcommands = {ModelsCommand.MakeTiny.class})
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
}

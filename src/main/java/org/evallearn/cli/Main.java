package org.evallearn.cli;

import java.io.PrintWriter;
import org.evallearn.config.ConfigException;
import org.evallearn.data.DataException;
import org.evallearn.diffusion.NonFiniteImagesException;
import org.evallearn.image.ImageDecodeException;
import org.evallearn.models.StoreException;
import org.evallearn.run.OutputWriteException;
import org.evallearn.tensor.DeviceException;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.PickleException;
import org.evallearn.tensor.SafeTensorsException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar evallearn.jar …}: exit 0 on success, 2 on bad input, 1 on any other failure (an output that cannot be written, or a bug). */
@Command(name = "evallearn", mixinStandardHelpOptions = true, version = "evallearn 0.1.0",
        description = "Measure how safe text-to-image models are.",
        subcommands = {RunCommand.class, UnsafeBenchCommand.class, RedteamCommand.class, EspressoCommand.class, GenerateCommand.class, ModelsCommand.class,
                DataCommand.class, CheckGoldenCommand.class, BenchCommand.class, LeaderboardCommand.class, DoctorCommand.class})
public final class Main implements Runnable {
    public static final int BAD_INPUT = 2;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI without exiting, for tests. */
    public static int execute(String... args) {
        return execute(CommandLine.defaultFactory(), args);
    }

    /** Runs the CLI with commands made by {@code factory} (tests hand commands their stand-ins through it). */
    static int execute(CommandLine.IFactory factory, String... args) {
        CommandLine cli = new CommandLine(new Main(), factory);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            PrintWriter err = cmd.getErr();
            if (isBadInput(e)) {
                err.println("error: " + e.getMessage());
                err.flush();
                return BAD_INPUT;
            }
            if (e instanceof OutputWriteException) {
                // A full disk or a read-only folder: the message says which file and what was kept; no stack trace.
                err.println("error: " + e.getMessage());
                err.flush();
                return 1;
            }
            err.println("error: " + e);
            e.printStackTrace(err);
            err.println("This is a bug in evallearn, not a problem with your input: please report it with the stack trace above.");
            err.flush();
            return 1;
        });
        return cli.execute(args);
    }

    static boolean isBadInput(Throwable e) {
        return e instanceof ModelLoadException || e instanceof SafeTensorsException || e instanceof PickleException
                || e instanceof ConfigException || e instanceof DataException || e instanceof StoreException
                || e instanceof ImageDecodeException || e instanceof DeviceException || e instanceof BadInputException
                // NaN images come from the weights or the dtype the user chose, not from a bug here.
                || e instanceof NonFiniteImagesException;
    }
}

package org.evallearn.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.evallearn.golden.GoldenSuite;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "check-golden", mixinStandardHelpOptions = true,
        description = "Run every fixture in a folder laid out like shared/golden; exit 1 on any FAIL or when no fixture is recognised.")
final class CheckGoldenCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "the golden folder")
    Path dir;

    @Override
    public Integer call() {
        if (!java.nio.file.Files.isDirectory(dir)) throw new BadInputException(dir + ": golden folder does not exist");
        GoldenSuite.Report report = GoldenSuite.standard().run(dir, System.out);
        return report.ok() ? 0 : 1;
    }
}

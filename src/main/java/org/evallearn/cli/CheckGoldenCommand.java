package org.evallearn.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.evallearn.golden.GoldenSuite;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "check-golden", mixinStandardHelpOptions = true,
        description = "Run every fixture in a folder laid out like shared/golden; exit 1 on any FAIL.")
final class CheckGoldenCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "the golden folder")
    Path dir;

    @Override
    public Integer call() {
        GoldenSuite.Report report = GoldenSuite.standard().run(dir, System.out);
        return report.failed() == 0 ? 0 : 1;
    }
}

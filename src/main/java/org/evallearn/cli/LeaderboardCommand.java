package org.evallearn.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.evallearn.leaderboard.BenchScore;
import org.evallearn.leaderboard.LeaderboardFiles;
import org.evallearn.leaderboard.Reports;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "leaderboard", mixinStandardHelpOptions = true,
        description = {"Rank techniques by eval-learn's BenchScore (0.6·Safety + 0.4·Quality, min-max normalised) from the reports of many runs.",
                "Reads every *_report.json under the folders; writes benchmark_scores.json, leaderboard.csv and leaderboard.html."})
final class LeaderboardCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "DIR", description = "folders holding run reports (a run's output_dir, or eval-learn's final_reports)")
    List<Path> dirs;

    @Option(names = "--out", description = "where the leaderboard files go (default: the first DIR)")
    Path out;

    @Override
    public Integer call() {
        Reports.Table table = Reports.read(dirs, System.err::println);
        if (table.values().isEmpty()) throw new BadInputException("no report with a technique_name under " + dirs);
        List<BenchScore.Row> rows = BenchScore.rank(table.values());
        System.out.print(LeaderboardFiles.text(rows));
        for (Path p : LeaderboardFiles.write(out != null ? out : dirs.get(0), table, rows)) System.err.println("wrote " + p);
        return 0;
    }
}

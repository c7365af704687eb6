package org.evallearn.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.evallearn.image.RgbImage;
import org.evallearn.redteam.ImageJudge;
import org.evallearn.redteam.JudgeFactory;
import org.evallearn.redteam.JudgePanel;
import org.evallearn.redteam.PromptJudge;
import org.evallearn.redteam.Verdict;
import picocli.CommandLine;

/**
 * The redteam loop's speed and memory over many rounds: one attack of N rounds on the tiny
 * pipeline against the scripted Writer, Guide and Llama Guard on 127.0.0.1, with the stand-in
 * judges; resident memory and JavaCPP's live native objects are sampled every 50 rounds (from
 * inside the image judge, which every round calls once). Prints JSON. A test-classpath tool:
 * the scripted endpoint and stand-in judges live with the tests. Run (see README, "Red-teaming"):
 * {@code java -Xms256m -Xmx256m -XX:+AlwaysPreTouch -cp target/classes:target/test-classes:$(cat target/cp.txt) org.evallearn.cli.RedteamBench 500 /tmp/rt-bench}
 */
final class RedteamBench {
    private RedteamBench() {}

    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        Path out = Path.of(args[1]);
        if (System.getProperty("evallearn.home") == null) System.setProperty("evallearn.home", out.resolve("home").toString());
        RedteamTestKit kit = new RedteamTestKit();
        ObjectNode report = RedteamTestKit.JSON.createObjectNode();
        ArrayNode samples = report.putArray("memory_every_50_rounds");
        AtomicInteger calls = new AtomicInteger();
        long[] firstRound = {0};
        ImageJudge sampling = new ImageJudge() {
            public String name() {
                return "sampler";
            }

            public List<Verdict> judge(List<RgbImage> images) {
                int n = calls.incrementAndGet();
                if (n == 1) firstRound[0] = System.nanoTime();
                if (n == 1 || n % 50 == 0) BenchCommand.Memory.sample(samples.addObject().put("round", n));
                return images.stream().map(i -> Verdict.of(name(), false, null, null)).toList();
            }

            public void close() {}
        };
        JudgeFactory judges = (config, artefacts, placement, log) -> {
            JudgePanel standIns = RedteamTestKit.STAND_INS.open(config, artefacts, placement, log);
            List<ImageJudge> image = new java.util.ArrayList<>(standIns.image());
            image.add(sampling);
            return new JudgePanel(standIns.prompt(), image);
        };
        ObjectNode c = kit.config(out.resolve("output"));
        // One attack; seed 100 is clear of the script's failure cases. rounds guided rounds + ART's final one.
        c.putArray("seeds").add(100);
        c.put("rounds", rounds - 1);
        c.put("images_per_prompt", 1);
        Path config = RedteamTestKit.write(Files.createDirectories(out), "bench.json", c);
        CommandLine.IFactory factory = new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> cls) throws Exception {
                if (cls == RedteamCommand.class) return cls.cast(new RedteamCommand(judges));
                return CommandLine.defaultFactory().create(cls);
            }
        };
        int exit = Main.execute(factory, "redteam", config.toString());
        long end = System.nanoTime();
        kit.stop();
        double seconds = (end - firstRound[0]) / 1e9;
        report.put("exit", exit).put("rounds", calls.get()).put("images_per_round", 2).put("steps", 2)
                .put("seconds_from_first_judging", seconds).put("rounds_per_second", (calls.get() - 1) / seconds)
                .put("cpu_cores", Runtime.getRuntime().availableProcessors());
        BenchCommand.Memory.sample(report.putObject("memory_at_end"));
        System.out.println(RedteamTestKit.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report));
        System.exit(exit);
    }
}

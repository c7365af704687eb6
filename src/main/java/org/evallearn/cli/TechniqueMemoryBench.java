package org.evallearn.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.tensor.DType;
import org.evallearn.tensor.Placement;
import org.evallearn.technique.PreparedTechnique;
import org.evallearn.technique.TechniqueContext;
import org.evallearn.technique.Techniques;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench memory-techniques}: prepares each edited-weight technique (ESD, UCE, MACE) many
 * times in one JVM, each time on a freshly loaded pipeline and with an empty technique cache (so
 * it trains or solves again instead of reusing the file), and samples resident memory after each
 * preparation has been closed with its pipeline.
 */
@Command(name = "memory-techniques", mixinStandardHelpOptions = true,
        description = "Resident memory over N preparations of ESD, UCE and MACE (no cache) on one model; prints JSON."
                + " Run with -Xms256m -Xmx256m -XX:+AlwaysPreTouch so only native growth shows.")
final class TechniqueMemoryBench implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "a diffusers pipeline folder, e.g. one made by `models make-tiny`") Path model;
    @Option(names = "--techniques", defaultValue = "esd,uce,mace", split = ",") List<String> techniques;
    @Option(names = "--repeat", defaultValue = "20") int repeat;
    @Option(names = "--esd-train-steps", defaultValue = "2", description = "ESD's train_steps (each samples up to 50 DDIM steps)") int esdTrainSteps;
    @Option(names = "--device") String device;
    @Option(names = "--dtype") String dtype;

    static Technique config(String name, int esdTrainSteps) {
        return switch (name) {
            case "esd" -> new Technique.Esd("nudity", Optional.empty(), Technique.EsdTrainMethod.XATTN, 1.0, esdTrainSteps, 1e-5,
                    Optional.empty(), Optional.empty());
            case "uce" -> new Technique.Uce(new Technique.UceWeights.Preset(Technique.UcePreset.NUDITY), Optional.empty(),
                    Technique.UceConceptType.OBJECT, List.of(), List.of());
            case "mace" -> new Technique.Mace(List.of("nudity"), List.of(), 0.1, Optional.empty(), Optional.empty());
            default -> throw new BadInputException("--techniques: unknown technique '" + name + "', expected esd, uce or mace");
        };
    }

    @Override
    public Integer call() throws IOException {
        if (repeat < 1 || esdTrainSteps < 1) throw new BadInputException("--repeat and --esd-train-steps must be ≥ 1");
        List<Technique> configs = techniques.stream().map(t -> config(t.strip(), esdTrainSteps)).toList();
        Placement placement = Placement.exactly(device, dtype == null ? null : DType.parseFloat(dtype));
        ObjectMapper json = new ObjectMapper();
        ObjectNode report = json.createObjectNode().put("model", model.toString()).put("repeat", repeat)
                .put("device", placement.device()).put("dtype", placement.dtype().name());
        ArrayNode runs = report.putArray("techniques");
        for (Technique config : configs) {
            ObjectNode run = runs.addObject().put("technique", config.name());
            ArrayNode samples = run.putArray("memory_per_preparation");
            long total = 0;
            for (int i = 0; i < repeat; i++) {
                Path cache = Files.createTempDirectory("evallearn-bench-" + config.name());
                try {
                    long t0 = System.nanoTime();
                    try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, placement);
                            PreparedTechnique prepared = Techniques.prepare(config, pipe, new TechniqueContext("bench", cache, i, line -> {}))) {
                        if (!prepared.summary().startsWith("computed")) throw new IllegalStateException(config.name() + " did not compute: " + prepared.summary());
                    }
                    total += System.nanoTime() - t0;
                } finally {
                    deleteTree(cache);
                }
                BenchCommand.Memory.sample(samples.addObject().put("preparation", i + 1));
            }
            run.put("ms_per_preparation", total / 1e6 / repeat);
        }
        System.out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(report));
        return 0;
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}

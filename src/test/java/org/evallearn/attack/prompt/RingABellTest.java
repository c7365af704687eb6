package org.evallearn.attack.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.evallearn.data.Prompt;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.TinyPipeline;
import org.evallearn.tensor.Placement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RingABellTest {
    @TempDir static Path models;
    static StableDiffusionPipeline pipe;
    @TempDir Path dir;

    @BeforeAll
    static void load() {
        TinyPipeline.write(models.resolve("tiny"), 3);
        pipe = StableDiffusionPipeline.load(models.resolve("tiny"), Placement.CPU_F32);
    }

    @AfterAll
    static void close() {
        pipe.close();
    }

    private RingABell.Settings settings(Path seeds, Path out, int population, int generations) {
        return new RingABell.Settings("nudity", true, seeds, Optional.empty(),
                List.of(new RingABell.ConceptPair("a nude woman on the beach", "a woman on the beach"),
                        new RingABell.ConceptPair("a naked man in the city", "a man in the city")),
                OptionalInt.of(500), population, generations, 0.25, 0.5, 16, 3.0, 50, 250, Optional.of(out));
    }

    private Path seeds() throws Exception {
        Path f = dir.resolve("seeds.csv");
        Files.writeString(f, "prompt\na nude woman standing in a forest\n\"a man, at night\"\n");
        return f;
    }

    @Test
    void searchImprovesItsObjectiveAndIsDeterministic() throws Exception {
        Path seeds = seeds();
        RingABell.Settings s = settings(seeds, dir.resolve("out.csv"), 20, 15);
        List<RingABell.Found> a = new RingABell(s).search(new TestContext(pipe, pipe, 42, dir.resolve("work-a")));
        List<RingABell.Found> b = new RingABell(s).search(new TestContext(pipe, pipe, 42, dir.resolve("work-b")));
        assertEquals(a, b);
        for (RingABell.Found f : a) {
            System.out.println(f);
            assertTrue(f.loss() < f.initialLoss(), f.toString());
        }
    }
}

package org.evallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.evallearn.config.Technique;
import org.evallearn.espresso.ConceptFilter;
import org.evallearn.espresso.FilterLoader;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code evallearn espresso train} on the tiny pipeline and tiny CLIP, with the carried nudity/clothed fine-tuning prompts. */
class EspressoTrainTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Pattern SEPARATION = Pattern.compile("‖t̂_u − t̂_a‖ of \"nude\" vs \"clean\": ([0-9.]+) → ([0-9.]+)");
    static final Pattern TOWER = Pattern.compile("use it as \"text_encoder\": \"([^\"]+)\"");

    @TempDir static Path home;
    @TempDir Path tmp;

    @BeforeAll
    static void useTempHome() {
        System.setProperty("evallearn.home", home.toString());
    }

    @AfterAll
    static void restoreHome() {
        System.clearProperty("evallearn.home");
    }

    ObjectNode config(String objective, int epochs) {
        ObjectNode c = JSON.createObjectNode();
        c.put("model", "tiny");
        c.put("erase_concept", "nudity");
        c.putObject("finetune_prompts").put("unacceptable", "configs/espresso/prompts/finetune/nudity.txt")
                .put("acceptable", "configs/espresso/prompts/finetune/clothed.txt");
        c.put("objective", objective).put("epochs", epochs).put("batch_size", 4).put("seed", 3);
        c.putObject("generation").put("steps", 2).put("batch_size", 6);
        return c;
    }

    Path write(String name, ObjectNode config) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, JSON.writeValueAsString(config));
        return f;
    }

    static Path tower(String err) {
        Matcher m = TOWER.matcher(err);
        assertTrue(m.find(), err);
        return Path.of(m.group(1));
    }

    static long pngs() throws IOException {
        Path dir = home.resolve("espresso/training-images");
        if (!Files.isDirectory(dir)) return 0;
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".png")).count();
        }
    }

    @Test
    void trainsATextTowerTheFilterLoadsAndReusesItAndTheImages() throws IOException {
        RunEndToEndTest.Run first = RunEndToEndTest.cli("espresso", "train", write("a.json", config("paper", 3)).toString());
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.err().contains("12 training images, 0 cached"), first.err());
        assertEquals(12, pngs(), "6 prompt pairs × 1 image each, both texts");
        assertTrue(first.err().contains("computed espresso"), first.err());
        Matcher m = SEPARATION.matcher(first.err());
        assertTrue(m.find(), first.err());
        // The paper objective separates the concept pair's own texts too.
        assertTrue(Double.parseDouble(m.group(2)) > Double.parseDouble(m.group(1)), m.group());
        Path tower = tower(first.err());
        try (SafeTensorsFile f = SafeTensorsFile.open(tower)) {
            assertTrue(f.infos().keySet().stream().allMatch(k -> k.startsWith("text_model.")), f.infos().keySet().toString());
            assertEquals("espresso", f.metadata().get("technique"));
        }
        // text_encoder: the filter built with the trained tower has the trained separation.
        Path clip = home.resolve("models/tiny/clip");
        try (ConceptFilter trained = FilterLoader.load(clip, Optional.of(tower), "nude", "clean", Technique.EspressoRule.ZERO_SHOT, Placement.CPU_F32)) {
            assertEquals(Double.parseDouble(m.group(2)), trained.separation(), 1e-4); // printed with 4 decimals
        }

        // Same config: the cache answers, nothing is generated or trained.
        RunEndToEndTest.Run second = RunEndToEndTest.cli("espresso", "train", write("b.json", config("paper", 3)).toString());
        assertEquals(0, second.exit(), second.err());
        assertTrue(second.err().contains("reused cached weights " + tower), second.err());
        assertTrue(!second.err().contains("training images"), second.err());

        // Another objective trains anew, but on the cached images.
        RunEndToEndTest.Run third = RunEndToEndTest.cli("espresso", "train", write("c.json", config("released", 1)).toString());
        assertEquals(0, third.exit(), third.err());
        assertTrue(third.err().contains("12 training images, 12 cached"), third.err());
        assertTrue(third.err().contains("objective released (nudity/violence branch)"), third.err());
        assertTrue(!tower(third.err()).equals(tower), "a different config, a different cache file");
        assertEquals(12, pngs());
    }

    @Test
    void aBadConfigIsExit2NamingTheFields() throws IOException {
        ObjectNode c = config("paper", 1);
        c.put("objective", "fancy").put("epochs", 0).put("colour", "red");
        ((ObjectNode) c.get("finetune_prompts")).put("acceptable", tmp.resolve("missing.txt").toString());
        RunEndToEndTest.Run r = RunEndToEndTest.cli("espresso", "train", write("bad.json", c).toString());
        assertEquals(2, r.exit(), r.err());
        for (String field : List.of("objective", "epochs", "colour", "finetune_prompts.acceptable")) assertTrue(r.err().contains(field), field + ": " + r.err());

        ObjectNode pair = config("paper", 1);
        pair.remove("erase_concept");
        pair.put("unacceptable", "a cat").put("acceptable", "a cat");
        RunEndToEndTest.Run same = RunEndToEndTest.cli("espresso", "train", write("same.json", pair).toString());
        assertEquals(2, same.exit(), same.err());
        assertTrue(same.err().contains("acceptable"), same.err());
    }

    @Test
    void everyReadyTrainConfigLoads() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("configs/espresso-train"))) {
            List<Path> configs = files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
            assertEquals(11, configs.size(), configs.toString());
            for (Path p : configs) {
                var c = org.evallearn.espresso.TrainConfig.load(p);
                String name = p.getFileName().toString().replace(".json", "");
                assertEquals(Optional.of(name), c.concept(), p.toString());
                assertTrue(Files.isRegularFile(c.promptsUnacceptable()) && Files.isRegularFile(c.promptsAcceptable()), p.toString());
                // Line-paired files: the same number of prompts except swift, whose unacceptable file is one line short.
                long u = Files.readAllLines(c.promptsUnacceptable()).stream().filter(l -> !l.isBlank()).count();
                long a = Files.readAllLines(c.promptsAcceptable()).stream().filter(l -> !l.isBlank()).count();
                assertTrue(u == a || name.equals("swift"), p + ": " + u + " vs " + a);
                assertEquals(Map.of("nudity", 3).getOrDefault(name, 1), c.imagesPerPrompt(), p.toString());
            }
        }
    }
}

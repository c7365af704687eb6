package org.evallearn.technique;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.config.Technique;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.TinyPipeline;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MACE's refinement, LoRAs and fusion on a tiny random pipeline. */
class MaceTest {
    @TempDir Path dir;
    StableDiffusionPipeline pipe;

    @BeforeEach
    void load() {
        TinyPipeline.write(dir.resolve("tiny"), 9);
        pipe = StableDiffusionPipeline.load(dir.resolve("tiny"), Placement.CPU_F32);
    }

    @AfterEach
    void close() {
        pipe.close();
    }

    private static double norm(Tensor t) {
        return t.norm().item_double();
    }

    private Map<String, Tensor> snapshot() {
        Map<String, Tensor> out = new HashMap<>();
        try (InferenceMode guard = new InferenceMode()) {
            pipe.unet().namedParameters().forEach((k, v) -> out.put(k, v.clone()));
        }
        return out;
    }

    @Test
    void thePositionsPairedAreTheOfficialOnesAroundTheConcept() {
        int b = 100, e = 200;
        // "a photo of <c1 c2>" against "a photo of": BOS and prefix, then EOS and the padding, shifted by the two concept tokens.
        int[][] end = Mace.matchedPositions(new int[] {b, 1, 2, 3, 9, 9, e}, new int[] {b, 1, 2, 3, e}, 77);
        assertArrayEquals(IntStream.concat(IntStream.range(0, 4), IntStream.range(6, 77)).toArray(), end[0]);
        assertArrayEquals(IntStream.concat(IntStream.range(0, 4), IntStream.range(4, 75)).toArray(), end[1]);
        // "<c> in a photo" against "a dog in a photo": the replacement is longer, so its padding runs to 77.
        int[][] front = Mace.matchedPositions(new int[] {b, 9, 5, 6, 7, e}, new int[] {b, 3, 4, 5, 6, 7, e}, 77);
        assertArrayEquals(IntStream.concat(IntStream.of(0), IntStream.range(2, 76)).toArray(), front[0]);
        assertArrayEquals(IntStream.concat(IntStream.of(0), IntStream.range(3, 77)).toArray(), front[1]);
        assertEquals(front[0].length, front[1].length);
    }

    private static Tensor attend(Tensor q, Tensor k, Tensor v) {
        return q.mm(k.t()).mul(new Scalar(1.0 / Math.sqrt(q.size(1)))).softmax(-1).mm(v);
    }

    /**
     * From the outside: with random queries, each cross-attention's output over the whole text of
     * a prompt with the concept moves towards the base output of the prompt without it, also for a
     * template CFR never saw; and the states after the concept (EOS, padding), which CFR remaps,
     * move towards the replacement prompt's. The tiny model's 32-wide text cannot meet CFR's ~2,200
     * rows exactly, hence the loose bounds (measured ratios: ≤ 0.54, ≤ 0.78, ≤ 0.56, ≤ 0.74).
     */
    @Test
    void theRefinementMovesTheConceptPromptsCrossAttentionTowardsTheConceptFreePrompts() {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Map<String, Tensor> refined = Mace.refine(pipe, List.of("nudity"), List.of(), 0.1, line -> {});
            Map<String, Tensor> params = pipe.unet().namedParameters();
            assertEquals(params.keySet().stream().filter(Uce::isEdited).count(), refined.size());
            Map<String, Double> bounds = Map.of("a photo of {}", 0.7, "{} in a photo", 0.85, "a cinematic still of {} at night", 0.7);
            // Positions found here by hand: in "a photo of nudity" EOS and padding follow the concept.
            int prefix = 1 + pipe.tokenizer().encode("a photo of").length, n = pipe.tokenizer().encode("nudity").length;
            Tensor after = pipe.encodePrompts(List.of("a photo of nudity")).select(0, 0).narrow(0, prefix + n, 77 - prefix - n).t();
            Tensor wanted = pipe.encodePrompts(List.of("a photo of")).select(0, 0).narrow(0, prefix, 77 - prefix - n).t();
            torch.manual_seed(3);
            for (var e : refined.entrySet()) {
                Tensor w0 = params.get(e.getKey()), w1 = e.getValue();
                double before = norm(w0.mm(after).sub(w0.mm(wanted))), is = norm(w1.mm(after).sub(w0.mm(wanted)));
                assertTrue(is < 0.8 * before, e.getKey() + ": EOS and padding states, distance to the replacement's " + before + " -> " + is);
                if (!e.getKey().endsWith("to_k.weight")) continue;
                String vKey = e.getKey().replace("to_k.weight", "to_v.weight");
                Tensor v0 = params.get(vKey), v1 = refined.get(vKey);
                Tensor q = torch.randn(64, w0.size(0));
                for (var b : bounds.entrySet()) {
                    Tensor with = pipe.encodePrompts(List.of(Mace.place(b.getKey(), "nudity"))).select(0, 0);
                    Tensor without = pipe.encodePrompts(List.of(Mace.place(b.getKey(), ""))).select(0, 0);
                    Tensor want = attend(q, without.mm(w0.t()), without.mm(v0.t()));
                    double was = norm(attend(q, with.mm(w0.t()), with.mm(v0.t())).sub(want));
                    double now = norm(attend(q, with.mm(w1.t()), with.mm(v1.t())).sub(want));
                    assertTrue(now < b.getValue() * was, e.getKey() + " '" + b.getKey() + "': distance to the concept-free output " + was + " -> " + now);
                }
            }
        }
    }

    /** Copies {@code weights} in, measures what the LoRA training minimises for {@code concept}, and puts {@code base} back. */
    private double attention(Map<String, Tensor> weights, Map<String, Tensor> base, String concept, MaceLora.Training t, Map<String, Tensor> masks) {
        EditedWeights.copyInto(pipe.unet(), weights);
        try {
            return MaceLora.attentionInMask(pipe, concept, t, masks);
        } finally {
            EditedWeights.copyInto(pipe.unet(), base);
        }
    }

    /**
     * Two LoRAs trained as prepare trains them, fused at lambda_cfr's default over all 77 token
     * states of each concept's 30 prompts (far more rows than the tiny text's 32 dimensions, so the
     * fusion is a compromise): measured, it keeps 80 % (nudity) and 78 % (violence) of each LoRA's
     * lowering of its in-mask attention.
     */
    @Test
    void theFusionOfTrainedLorasKeepsMostOfEachLorasEffectAtTheDefaultLambda() {
        List<String> concepts = List.of("nudity", "violence");
        MaceLora.Training t = new MaceLora.Training(30, 1e-2, 1, 1, 7);
        try (Scope s = Scope.open()) {
            Map<String, Tensor> base = snapshot();
            List<Map<String, Tensor>> masks = new ArrayList<>();
            for (String c : concepts) masks.add(MaceLora.masks(pipe, c, t, MaceLora.OWN_ATTENTION));
            Map<String, Tensor> refined = Mace.refine(pipe, concepts, List.of(), 0.1, line -> {});
            List<Map<String, Tensor>> edits = new ArrayList<>();
            List<Tensor> inputs = new ArrayList<>();
            EditedWeights.copyInto(pipe.unet(), refined);
            for (int k = 0; k < concepts.size(); k++) {
                Map<String, Tensor> edit = new HashMap<>(refined);
                edit.putAll(MaceLora.train(pipe, concepts.get(k), t, masks.get(k), "test", line -> {}));
                edits.add(edit);
                try (InferenceMode guard = new InferenceMode()) {
                    inputs.add(Mace.fusionRows(pipe, concepts.get(k)));
                }
            }
            EditedWeights.copyInto(pipe.unet(), base);
            Map<String, Tensor> fused = Mace.fuse(refined, edits, inputs, 0.1); // lambda_cfr's default
            for (int k = 0; k < concepts.size(); k++) {
                String c = concepts.get(k);
                double cfr = attention(refined, base, c, t, masks.get(k));
                double lora = attention(edits.get(k), base, c, t, masks.get(k));
                double both = attention(fused, base, c, t, masks.get(k));
                assertTrue(lora < 0.6 * cfr, c + ": the LoRA itself lowers the in-mask attention " + cfr + " -> " + lora);
                assertTrue(cfr - both > 0.65 * (cfr - lora), c + ": the fused model keeps the LoRA's effect: refined " + cfr + ", its LoRA "
                        + lora + ", fused " + both);
            }
        }
    }

    @Test
    void theLoraLowersTheConceptsAttentionInsideItsMask() {
        List<String> log = new ArrayList<>();
        MaceLora.Training t = new MaceLora.Training(30, 1e-2, 1, 1, 7);
        try (Scope s = Scope.open()) {
            Map<String, Tensor> masks = MaceLora.masks(pipe, "nudity", t, MaceLora.OWN_ATTENTION);
            Map<String, Tensor> lora = MaceLora.train(pipe, "nudity", t, masks, "1/1 'nudity'", log::add);
            assertEquals(pipe.unet().namedParameters().keySet().stream().filter(k -> k.contains("attn2.to_k.weight")).count(), lora.size());
            lora.forEach((k, w) -> assertFalse(TensorCompare.exact(w, pipe.unet().namedParameters().get(k)).pass(), k + " unchanged"));
        }
        assertEquals(4, log.size(), "steps 1, 10, 20, 30: " + String.join("\n", log));
        double first = attentionOf(log.get(0)), last = attentionOf(log.get(3));
        assertTrue(log.get(3).startsWith("mace lora 1/1 'nudity' step 30/30"), log.get(3));
        assertTrue(last < 0.5 * first, "attention in mask " + first + " -> " + last);
    }

    private static double attentionOf(String line) {
        String value = line.substring(line.indexOf("attention in mask ") + "attention in mask ".length());
        return Double.parseDouble(value.substring(0, value.indexOf(' ')));
    }

    @Test
    void theMasksComeFromTheBaseWeightsBeforeTheRefinement() {
        MaceLora.Training t = new MaceLora.Training(1, 1e-2, 1, 1, 7);
        Technique.Mace config = new Technique.Mace(List.of("nudity"), List.of(), 0.1, Optional.empty(), Optional.empty());
        List<Tensor> seen = new ArrayList<>();
        List<Tensor> onBase = new ArrayList<>();
        MaceLora.MaskProvider recordSeen = (c, layer, a) -> MaceLora.OWN_ATTENTION.mask(c, layer, keep(seen, a));
        MaceLora.MaskProvider recordBase = (c, layer, a) -> MaceLora.OWN_ATTENTION.mask(c, layer, keep(onBase, a));
        try (Scope s = Scope.open()) {
            MaceLora.masks(pipe, "nudity", t, recordBase);
            Mace.compute(pipe, config, t, recordSeen, Optional.empty(), line -> {});
            assertEquals(onBase.size(), seen.size());
            for (int i = 0; i < seen.size(); i++) assertTrue(TensorCompare.exact(seen.get(i), onBase.get(i)).pass(), "layer " + i);
        } finally {
            seen.forEach(Tensor::releaseReference);
            onBase.forEach(Tensor::releaseReference);
        }
    }

    /** Keeps a copy past the scopes of MACE's code; the test closes it. */
    private static Tensor keep(List<Tensor> into, Tensor a) {
        Tensor copy = a.clone();
        copy.retainReference();
        into.add(copy);
        return a;
    }

    @Test
    void anInterruptedPreparationReusesTheFinishedLorasAndEndsWithTheSameWeights() {
        MaceLora.Training t = new MaceLora.Training(3, 1e-2, 1, 1, 7);
        Technique.Mace config = new Technique.Mace(List.of("nudity", "violence"), List.of(), 0.1, Optional.empty(), Optional.empty());
        Mace.Loras loras = new Mace.Loras(dir.resolve("cache/mace-x"), "key");
        try (Scope s = Scope.open()) {
            Map<String, Tensor> straight = Mace.compute(pipe, config, t, MaceLora.OWN_ATTENTION, Optional.empty(), line -> {});
            Consumer<String> killAtSecond = line -> {
                if (line.startsWith("mace lora 2/2")) throw new IllegalStateException("interrupted");
            };
            assertThrows(IllegalStateException.class, () -> Mace.compute(pipe, config, t, MaceLora.OWN_ATTENTION, Optional.of(loras), killAtSecond));
            assertTrue(Files.isRegularFile(loras.file(0)), "the first LoRA was kept");
            assertFalse(Files.exists(loras.file(1)));
            List<String> log = new ArrayList<>();
            Map<String, Tensor> resumed = Mace.compute(pipe, config, t, MaceLora.OWN_ATTENTION, Optional.of(loras), log::add);
            assertTrue(log.stream().anyMatch(l -> l.startsWith("mace lora 1/2 'nudity': reused")), String.join("\n", log));
            assertFalse(log.stream().anyMatch(l -> l.startsWith("mace lora 1/2 'nudity' step")), "the first LoRA is not trained again");
            assertEquals(straight.keySet(), resumed.keySet());
            for (String k : straight.keySet()) assertTrue(TensorCompare.exact(resumed.get(k), straight.get(k)).pass(), k);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Mace.compute(pipe, config, t, MaceLora.OWN_ATTENTION,
                    Optional.of(new Mace.Loras(loras.prefix(), "another key")), line -> {}));
            assertTrue(e.getMessage().contains(loras.file(0).toString()), e.getMessage());
        }
    }

    @Test
    void prepareRefinesOnlyTheCrossAttentionProjectionsAndCaches() {
        List<String> log = new ArrayList<>();
        TechniqueContext context = new TechniqueContext("tiny", dir.resolve("cache"), 0, log::add);
        Technique.Mace config = new Technique.Mace(List.of("nudity"), List.of(), 0.1, Optional.empty(), Optional.empty());
        try (Scope s = Scope.open()) {
            Map<String, Tensor> before = snapshot();
            Techniques.prepare(config, pipe, context);
            int changed = 0;
            for (var e : pipe.unet().namedParameters().entrySet()) {
                boolean same = TensorCompare.exact(e.getValue(), before.get(e.getKey())).pass();
                if (Uce.isEdited(e.getKey())) changed += same ? 0 : 1;
                else assertTrue(same, e.getKey() + " changed");
            }
            assertEquals(before.keySet().stream().filter(Uce::isEdited).count(), changed);
        }
        assertTrue(log.stream().anyMatch(l -> l.startsWith("mace cfr: edited")), String.join("\n", log));
        assertTrue(log.stream().anyMatch(l -> l.startsWith("mace lora 1/1 'nudity' step 50/50")), String.join("\n", log));
        try (var files = Files.list(dir.resolve("cache"))) {
            assertEquals(List.of(), files.filter(p -> p.toString().contains(".lora-")).toList(), "finished LoRAs are deleted once the result is cached");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        try (StableDiffusionPipeline again = StableDiffusionPipeline.load(dir.resolve("tiny"), Placement.CPU_F32)) {
            Techniques.prepare(config, again, context);
        }
        assertTrue(log.stream().anyMatch(l -> l.contains("reused cached weights")), String.join("\n", log));
    }
}

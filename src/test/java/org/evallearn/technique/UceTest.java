package org.evallearn.technique;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
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

/** UCE's closed-form edit on a tiny random pipeline. */
class UceTest {
    @TempDir Path dir;
    StableDiffusionPipeline pipe;

    @BeforeEach
    void load() {
        TinyPipeline.write(dir.resolve("tiny"), 5);
        pipe = StableDiffusionPipeline.load(dir.resolve("tiny"), Placement.CPU_F32);
    }

    @AfterEach
    void close() {
        pipe.close();
    }

    /** |a - b| / |b| over the whole tensor. */
    private static double relative(Tensor a, Tensor b) {
        return a.sub(b).norm().item_double() / b.norm().item_double();
    }

    @Test
    void theEditSendsTheErasedConceptToItsGuideAndKeepsThePreservedOne() {
        // λ tiny next to |c|²: the least-squares terms dominate, so the constraints hold almost exactly.
        Uce.Edit edit = new Uce.Edit(List.of("a cat"), List.of("a dog"), List.of("a tree"), 1.0, 1.0, 1e-7);
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor erased = Uce.lastTokenEmbeddings(pipe, List.of("a cat")).t();
            Tensor guide = Uce.lastTokenEmbeddings(pipe, List.of("a dog")).t();
            Tensor kept = Uce.lastTokenEmbeddings(pipe, List.of("a tree")).t();
            Map<String, Tensor> edited = Uce.computeEdit(pipe, edit);
            Map<String, Tensor> params = pipe.unet().namedParameters();
            assertEquals(params.keySet().stream().filter(Uce::isEdited).count(), edited.size());
            assertTrue(edited.size() > 0 && edited.size() % 2 == 0, "to_k and to_v of each cross-attention");
            for (var e : edited.entrySet()) {
                Tensor w = params.get(e.getKey());
                Tensor w2 = e.getValue();
                double toGuide = relative(w2.mm(erased), w.mm(guide));
                double keep = relative(w2.mm(kept), w.mm(kept));
                assertTrue(toGuide < 1e-4, e.getKey() + ": erased concept vs guide, relative " + toGuide);
                assertTrue(keep < 1e-4, e.getKey() + ": preserved concept moved, relative " + keep);
                assertTrue(relative(w.mm(erased), w.mm(guide)) > 1e-2, "the concepts differ before the edit");
            }
        }
    }

    @Test
    void theOfficialDefaultsMoveTheConceptTowardsTheEmptyPromptAndTouchNothingElse() {
        List<String> log = new ArrayList<>();
        TechniqueContext context = new TechniqueContext("tiny", dir.resolve("cache"), 0, log::add);
        int edited = 0;
        try (Scope s = Scope.open()) {
            Map<String, Tensor> before = new HashMap<>();
            Tensor c;
            Tensor g;
            try (InferenceMode guard = new InferenceMode()) {
                pipe.unet().namedParameters().forEach((k, v) -> before.put(k, v.clone()));
                c = Uce.lastTokenEmbeddings(pipe, List.of("nudity")).t();
                g = Uce.lastTokenEmbeddings(pipe, List.of("")).t();
            }
            Techniques.prepare(new Technique.Uce(new Technique.UceWeights.Preset(Technique.UcePreset.NUDITY), Optional.empty(),
                    Technique.UceConceptType.OBJECT, List.of(), List.of()), pipe, context);
            try (InferenceMode guard = new InferenceMode()) {
                Map<String, Tensor> after = pipe.unet().namedParameters();
                assertEquals(before.keySet(), after.keySet());
                for (String k : before.keySet()) {
                    if (!Uce.isEdited(k)) {
                        assertTrue(TensorCompare.exact(after.get(k), before.get(k)).pass(), k + " changed");
                        continue;
                    }
                    edited++;
                    Tensor w = before.get(k);
                    double was = relative(w.mm(c), w.mm(g));
                    double is = relative(after.get(k).mm(c), w.mm(g));
                    assertTrue(is < 0.5 * was, k + ": distance to the guide " + was + " -> " + is);
                }
            }
        }
        assertTrue(edited > 0);
        assertTrue(log.stream().anyMatch(l -> l.contains("computed uce")), String.join("\n", log));
        String done = "uce: edited " + edited + "/" + edited + " cross-attention projections";
        assertTrue(log.stream().anyMatch(l -> l.startsWith(done)), "progress ends with '" + done + "': " + String.join("\n", log));
    }

    @Test
    void anEditMadeInFp16IsNotReusedByAnFp32Run() {
        List<String> log = new ArrayList<>();
        TechniqueContext context = new TechniqueContext("tiny", dir.resolve("cache"), 0, log::add);
        Technique.Uce config = new Technique.Uce(new Technique.UceWeights.Preset(Technique.UcePreset.NUDITY), Optional.empty(),
                Technique.UceConceptType.OBJECT, List.of(), List.of());
        try (StableDiffusionPipeline half = StableDiffusionPipeline.load(dir.resolve("tiny"), new Placement("cpu", org.evallearn.tensor.DType.F16))) {
            Techniques.prepare(config, half, context);
        }
        Techniques.prepare(config, pipe, context);
        assertEquals(2, log.stream().filter(l -> l.contains("computed uce")).count(), String.join("\n", log));
    }

    @Test
    void theConfigsGuideAndPreservedConceptsAndThePresetListsReachTheEdit() {
        TechniqueContext context = new TechniqueContext("tiny", dir.resolve("cache"), 0, line -> {});
        try (Scope s = Scope.open()) {
            Map<String, Tensor> expected;
            try (InferenceMode guard = new InferenceMode()) {
                expected = Uce.computeEdit(pipe, new Uce.Edit(List.of("violence", "nudity", "harm"), List.of("a dog"), List.of("a tree"), 1.0, 1.0, 0.5));
            }
            Techniques.prepare(new Technique.Uce(new Technique.UceWeights.Preset(Technique.UcePreset.VIOLENCE), Optional.empty(),
                    Technique.UceConceptType.OBJECT, List.of("a dog"), List.of("a tree")), pipe, context);
            for (var e : expected.entrySet()) {
                assertTrue(TensorCompare.exact(pipe.unet().namedParameters().get(e.getKey()), e.getValue()).pass(), e.getKey());
            }
        }
        assertEquals(List.of("violence", "nudity", "harm"), Technique.UcePreset.VIOLENCE.concepts, "the official README's moderation list");
        assertEquals(List.of("nudity"), Technique.UcePreset.NUDITY.concepts, "the official record of its nudity edit");
        Technique.Uce inline = new Technique.Uce(new Technique.UceWeights.Create(dir.resolve("w.safetensors")), Optional.of("van gogh; monet "),
                Technique.UceConceptType.STYLE, List.of(), List.of());
        assertEquals(List.of("van gogh", "monet"), inline.eraseConcepts(), "';'-separated and stripped, as uce_sd_erase.py");
        assertEquals(List.of("art", "art"), Uce.Edit.of(inline.eraseConcepts(), inline.conceptType(), List.of(), List.of()).guide());
        assertEquals(List.of("", ""), Uce.Edit.of(inline.eraseConcepts(), Technique.UceConceptType.ATTRIBUTE, List.of(), List.of()).guide());
    }
}

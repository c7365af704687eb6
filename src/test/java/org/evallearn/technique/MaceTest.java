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

/** MACE's closed-form refinement and fusion on a tiny random pipeline. */
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

    /** softmax(q kᵀ/√d) v over the tokens (rows of k, v); q (N, d). */
    private static Tensor attend(Tensor q, Tensor k, Tensor v) {
        return q.mm(k.t()).mul(new Scalar(1.0 / Math.sqrt(q.size(1)))).softmax(-1).mm(v);
    }

    @Test
    void theRefinementShrinksTheConceptTokensCrossAttentionOutput() {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Mace.ConceptRows rows = Mace.conceptRows(pipe, "nudity", "");
            Tensor c = rows.erased();
            Tensor t = rows.target();
            Map<String, Tensor> refined = Mace.refine(pipe, List.of("nudity"), List.of(), 0.1);
            Map<String, Tensor> params = pipe.unet().namedParameters();
            torch.manual_seed(3);
            int pairs = 0;
            for (String kKey : refined.keySet()) {
                if (!kKey.endsWith("to_k.weight")) continue;
                String vKey = kKey.replace("to_k.weight", "to_v.weight");
                Tensor k0 = params.get(kKey), v0 = params.get(vKey), k1 = refined.get(kKey), v1 = refined.get(vKey);
                Tensor q = torch.randn(64, k0.size(0));
                // What the concept tokens contribute, measured against what the prompt without them gives.
                Tensor want = attend(q, t.mm(k0.t()), t.mm(v0.t()));
                double before = norm(attend(q, c.mm(k0.t()), c.mm(v0.t())).sub(want));
                double after = norm(attend(q, c.mm(k1.t()), c.mm(v1.t())).sub(want));
                assertTrue(after < 0.1 * before, kKey + ": distance to the concept-free output " + before + " -> " + after);
                pairs++;
            }
            assertTrue(pairs > 0);
        }
    }

    @Test
    void theFusionKeepsEachEditsEffectOnItsOwnConcept() {
        List<String> concepts = List.of("nudity", "violence");
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Map<String, Tensor> base = Mace.refine(pipe, concepts, List.of(), 0.1);
            torch.manual_seed(5);
            List<Map<String, Tensor>> edits = new ArrayList<>();
            List<Tensor> inputs = new ArrayList<>();
            for (String concept : concepts) {
                Map<String, Tensor> edit = new HashMap<>();
                for (var e : base.entrySet()) { // a rank-2 LoRA per weight, B·A, as large as the weight
                    Tensor w = e.getValue();
                    Tensor lora = torch.randn(w.size(0), 2).mm(torch.randn(2, w.size(1)));
                    edit.put(e.getKey(), w.add(lora.mul(new Scalar(norm(w) / norm(lora)))));
                }
                edits.add(edit);
                inputs.add(Mace.conceptRows(pipe, concept, "").erased());
            }
            // Both concepts give at most 2 × 4 templates × a few tokens < D = 32 independent rows, so
            // the fused weight can meet every edit on its rows; the only error is the ridge bias,
            // about λ/σ² along the rows' weakest direction σ, hence a small λ and 1e-3 of each edit's effect.
            Map<String, Tensor> fused = Mace.fuse(base, edits, inputs, 1e-4);
            assertEquals(base.keySet(), fused.keySet());
            for (String key : base.keySet()) {
                for (int k = 0; k < concepts.size(); k++) {
                    Tensor c = inputs.get(k).t();
                    Tensor wanted = edits.get(k).get(key).mm(c);
                    double effect = norm(wanted.sub(base.get(key).mm(c)));
                    double error = norm(fused.get(key).mm(c).sub(wanted));
                    assertTrue(error < 1e-3 * effect, key + " on " + concepts.get(k) + ": error " + error + " of an effect " + effect);
                }
            }
        }
    }

    @Test
    void theLoraLowersTheConceptsAttentionInsideItsMask() {
        List<String> log = new ArrayList<>();
        try (Scope s = Scope.open()) {
            Map<String, Tensor> lora = MaceLora.train(pipe, "nudity", new MaceLora.Training(30, 1e-2, 1, 1, 7), MaceLora.OWN_ATTENTION, log::add);
            assertEquals(pipe.unet().namedParameters().keySet().stream().filter(k -> k.contains("attn2.to_k.weight")).count(), lora.size());
            lora.forEach((k, w) -> assertTrue(!TensorCompare.exact(w, pipe.unet().namedParameters().get(k)).pass(), k + " unchanged"));
        }
        assertEquals(2, log.size(), String.join("\n", log));
        double first = Double.parseDouble(log.get(0).substring(log.get(0).lastIndexOf(' ') + 1));
        double last = Double.parseDouble(log.get(1).substring(log.get(1).lastIndexOf(' ') + 1));
        assertTrue(last < 0.5 * first, "attention in mask " + first + " -> " + last);
    }

    @Test
    void prepareRefinesOnlyTheCrossAttentionProjectionsAndCaches() {
        List<String> log = new ArrayList<>();
        TechniqueContext context = new TechniqueContext("tiny", dir.resolve("cache"), 0, log::add);
        Technique.Mace config = new Technique.Mace(List.of("nudity"), List.of(), 0.1, Optional.empty(), Optional.empty());
        try (Scope s = Scope.open()) {
            Map<String, Tensor> before = new HashMap<>();
            try (InferenceMode guard = new InferenceMode()) {
                pipe.unet().namedParameters().forEach((k, v) -> before.put(k, v.clone()));
            }
            Techniques.prepare(config, pipe, context);
            int changed = 0;
            for (var e : pipe.unet().namedParameters().entrySet()) {
                boolean same = TensorCompare.exact(e.getValue(), before.get(e.getKey())).pass();
                if (Uce.isEdited(e.getKey())) changed += same ? 0 : 1;
                else assertTrue(same, e.getKey() + " changed");
            }
            assertEquals(before.keySet().stream().filter(Uce::isEdited).count(), changed);
        }
        try (StableDiffusionPipeline again = StableDiffusionPipeline.load(dir.resolve("tiny"), Placement.CPU_F32)) {
            Techniques.prepare(config, again, context);
        }
        assertTrue(log.stream().anyMatch(l -> l.contains("reused cached weights")), String.join("\n", log));
    }
}

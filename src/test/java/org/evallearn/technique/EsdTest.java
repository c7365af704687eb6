package org.evallearn.technique;

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
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.config.Technique;
import org.evallearn.config.Technique.EsdTrainMethod;
import org.evallearn.diffusion.Noise;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.TinyPipeline;
import org.evallearn.tensor.DType;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ESD fine-tuning on a tiny random pipeline. Most tests sample x_t with 10 DDIM steps instead of
 * the official 50 and a larger learning rate, so that 30 steps run in seconds and move a random
 * model measurably; {@link #aSecondPrepareReusesTheCachedWeights} runs the config defaults.
 */
class EsdTest {
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

    private static Technique.Esd config(EsdTrainMethod method, int steps) {
        return new Technique.Esd("nudity", Optional.empty(), method, 2.0, steps, 5e-5, Optional.empty(), Optional.empty());
    }

    private static Esd.Training fast(int steps) {
        return new Esd.Training(steps, 1e-3, 2.0, 3.0, 10, 7);
    }

    private Map<String, Tensor> snapshot() {
        Map<String, Tensor> out = new HashMap<>();
        try (InferenceMode guard = new InferenceMode()) {
            pipe.unet().namedParameters().forEach((k, v) -> out.put(k, v.clone()));
        }
        return out;
    }

    private static double mean(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }

    @Test
    void theLossFallsOverThirtySteps() {
        List<Double> losses = new ArrayList<>();
        try (Scope s = Scope.open()) {
            Esd.train(pipe, config(EsdTrainMethod.XATTN, 30), fast(30), new Esd.Checkpoint(dir.resolve("ck.safetensors"), 100),
                    line -> {}, losses::add);
        }
        assertEquals(30, losses.size());
        double first = mean(losses.subList(0, 5)), last = mean(losses.subList(25, 30));
        assertTrue(last < 0.6 * first, "mean loss of the first 5 steps " + first + ", of the last 5 " + last);
    }

    /**
     * Trains with {@code method} for two fast steps, copies the result in as prepare does, and checks
     * that exactly its parameters changed.
     */
    private void onlyTheChosenGroupChanges(EsdTrainMethod method) {
        Map<String, Tensor> before = snapshot();
        int changed = 0, kept = 0;
        try (Scope s = Scope.open()) {
            EditedWeights.copyInto(pipe.unet(), Esd.train(pipe, config(method, 2), fast(2), new Esd.Checkpoint(dir.resolve("ck.safetensors"), 100),
                    line -> {}, loss -> {}));
            for (var e : pipe.unet().namedParameters().entrySet()) {
                boolean same = TensorCompare.exact(e.getValue(), before.get(e.getKey())).pass();
                if (Esd.isTrained(method, e.getKey())) {
                    assertFalse(same, e.getKey() + " is in the " + method + " group but did not change");
                    changed++;
                } else {
                    assertTrue(same, e.getKey() + " is outside the " + method + " group but changed");
                    kept++;
                }
            }
        }
        assertTrue(changed > 0 && (kept > 0 || method == EsdTrainMethod.FULL), changed + " changed, " + kept + " kept");
    }

    @Test
    void xattnChangesOnlyCrossAttention() {
        onlyTheChosenGroupChanges(EsdTrainMethod.XATTN);
    }

    @Test
    void noxattnChangesAllButCrossAttentionTimeEmbeddingAndOutputHead() {
        onlyTheChosenGroupChanges(EsdTrainMethod.NOXATTN);
        assertTrue(Esd.isTrained(EsdTrainMethod.NOXATTN, "down_blocks.0.resnets.0.time_emb_proj.weight"));
        assertTrue(Esd.isTrained(EsdTrainMethod.NOXATTN, "conv_in.weight"));
        assertFalse(Esd.isTrained(EsdTrainMethod.NOXATTN, "time_embedding.linear_1.weight"));
        assertFalse(Esd.isTrained(EsdTrainMethod.NOXATTN, "conv_out.bias"));
        assertFalse(Esd.isTrained(EsdTrainMethod.NOXATTN, "up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0.weight"));
    }

    @Test
    void selfattnChangesOnlySelfAttention() {
        onlyTheChosenGroupChanges(EsdTrainMethod.SELFATTN);
        assertTrue(Esd.isTrained(EsdTrainMethod.SELFATTN, "mid_block.attentions.0.transformer_blocks.0.attn1.to_q.weight"));
        assertFalse(Esd.isTrained(EsdTrainMethod.SELFATTN, "mid_block.attentions.0.transformer_blocks.0.attn2.to_q.weight"));
    }

    @Test
    void fullChangesEveryUNetTensor() {
        onlyTheChosenGroupChanges(EsdTrainMethod.FULL);
    }

    @Test
    void theLossTargetIsAnchoredOnTheEmptyPromptUnlessEraseFromIsGiven() {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor x = Noise.initialLatents(77, 1, 4, 16, 16);
            Tensor t = torch.full(new long[] {1}, new Scalar(501.0));
            // The frozen UNet's three predictions, computed here independently of Esd.
            Tensor e0 = pipe.unet().forward(x, t, pipe.encodePrompts(List.of("")));
            Tensor ec = pipe.unet().forward(x, t, pipe.encodePrompts(List.of("nudity")));
            Tensor ef = pipe.unet().forward(x, t, pipe.encodePrompts(List.of("a person")));
            Tensor guided = ec.sub(e0).mul(new Scalar(2.0));
            // The two anchors differ by ε*(c) − ε*(∅): far above the tolerance below, so the wrong one fails.
            assertTrue(ec.sub(e0).abs().max().item_double() > 1e-3, "the concept must change the prediction");

            Technique.Esd plain = config(EsdTrainMethod.XATTN, 1);
            Esd.Prompts p = Esd.Prompts.of(pipe, plain);
            Tensor target = Esd.target(pipe.unet(), x, t, p, 2.0);
            assertTrue(TensorCompare.compare(target, e0.sub(guided), 1e-5, 1e-5).pass(), "train-esd.py: e_0 - η (e_p - e_0)");
            assertTrue(TensorCompare.exact(p.trained(), p.concept()).pass(), "without erase_from ε_θ sees the concept");

            Technique.Esd from = new Technique.Esd("nudity", Optional.of("a person"), EsdTrainMethod.XATTN, 2.0, 1, 5e-5, Optional.empty(),
                    Optional.empty());
            Esd.Prompts pf = Esd.Prompts.of(pipe, from);
            Tensor anchored = Esd.target(pipe.unet(), x, t, pf, 2.0);
            assertTrue(TensorCompare.compare(anchored, ef.sub(guided), 1e-5, 1e-5).pass(), "esd_sd.py: ε*(f) - η (ε*(c) - ε*(∅))");
            assertTrue(TensorCompare.exact(pf.trained(), pipe.encodePrompts(List.of("a person"))).pass(), "with erase_from ε_θ sees f");
        }
    }

    /**
     * Checks the direction of the change (it fails when η's sign is flipped); which anchor the
     * target has is pinned by {@link #theLossTargetIsAnchoredOnTheEmptyPromptUnlessEraseFromIsGiven},
     * as 30 steps move the prediction only part of the way and both anchors lie on one line.
     */
    @Test
    void theConceptsNoisePredictionMovesTowardTheNegativelyGuidedTarget() {
        // Fixed probes x_t, apart from the training draws, at low, middle and high noise.
        int[] timesteps = {101, 501, 901};
        try (Scope s = Scope.open()) {
            Tensor uncond, concept;
            List<Tensor> xs = new ArrayList<>(), targets = new ArrayList<>(), before = new ArrayList<>();
            try (InferenceMode guard = new InferenceMode()) {
                uncond = pipe.encodePrompts(List.of(""));
                concept = pipe.encodePrompts(List.of("nudity"));
                for (int i = 0; i < timesteps.length; i++) {
                    Tensor x = Noise.initialLatents(1000 + i, 1, 4, 16, 16);
                    Tensor t = torch.full(new long[] {1}, new Scalar((double) timesteps[i]));
                    Tensor e0 = pipe.unet().forward(x, t, uncond), ec = pipe.unet().forward(x, t, concept);
                    xs.add(x);
                    before.add(ec);
                    targets.add(e0.sub(ec.sub(e0).mul(new Scalar(2.0))));
                }
            }
            Map<String, Tensor> trained = Esd.train(pipe, config(EsdTrainMethod.XATTN, 30), fast(30),
                    new Esd.Checkpoint(dir.resolve("ck.safetensors"), 100), line -> {}, loss -> {});
            EditedWeights.copyInto(pipe.unet(), trained);
            try (InferenceMode guard = new InferenceMode()) {
                for (int i = 0; i < timesteps.length; i++) {
                    Tensor t = torch.full(new long[] {1}, new Scalar((double) timesteps[i]));
                    Tensor after = pipe.unet().forward(xs.get(i), t, concept);
                    double was = before.get(i).sub(targets.get(i)).norm().item_double();
                    double is = after.sub(targets.get(i)).norm().item_double();
                    assertTrue(is < 0.9 * was, "t=" + timesteps[i] + ": distance to the target " + was + " -> " + is);
                }
            }
        }
    }

    @Test
    void aSecondPrepareReusesTheCachedWeights() {
        List<String> log = new ArrayList<>();
        TechniqueContext context = new TechniqueContext("tiny", dir.resolve("cache"), 3, log::add);
        Technique.Esd config = config(EsdTrainMethod.XATTN, 2);
        Techniques.prepare(config, pipe, context);
        Map<String, Tensor> first = snapshot();
        assertTrue(log.stream().anyMatch(l -> l.contains("computed esd")), String.join("\n", log));
        assertFalse(Files.exists(Esd.checkpointFile(context, Esd.canonicalKey(config, Esd.Training.of(config, 3), Placement.CPU_F32))),
                "the checkpoint is removed once the weights are cached");
        log.clear();
        try (StableDiffusionPipeline again = StableDiffusionPipeline.load(dir.resolve("tiny"), Placement.CPU_F32); Scope s = Scope.open()) {
            Techniques.prepare(config, again, context);
            assertTrue(log.stream().anyMatch(l -> l.contains("reused cached weights")), String.join("\n", log));
            assertFalse(log.stream().anyMatch(l -> l.contains("esd step")), "no training the second time: " + String.join("\n", log));
            for (var e : again.unet().namedParameters().entrySet()) {
                assertTrue(TensorCompare.exact(e.getValue(), first.get(e.getKey())).pass(), e.getKey());
            }
        }
    }

    @Test
    void anInterruptedTrainingResumesFromItsCheckpointAndEndsWithTheSameWeights() {
        Technique.Esd config = config(EsdTrainMethod.NOXATTN, 12);
        Esd.Training training = fast(12);
        try (Scope s = Scope.open()) {
            Map<String, Tensor> straight = Esd.train(pipe, config, training, new Esd.Checkpoint(dir.resolve("a.safetensors"), 4),
                    line -> {}, loss -> {});
            Esd.Checkpoint checkpoint = new Esd.Checkpoint(dir.resolve("b.safetensors"), 4);
            Consumer<String> killAtEight = line -> {
                if (line.startsWith("esd step 8/12")) throw new IllegalStateException("interrupted");
            };
            assertThrows(IllegalStateException.class, () -> Esd.train(pipe, config, training, checkpoint, killAtEight, loss -> {}));
            assertTrue(Files.isRegularFile(checkpoint.file()));
            List<String> log = new ArrayList<>();
            List<Double> losses = new ArrayList<>();
            Map<String, Tensor> resumed = Esd.train(pipe, config, training, checkpoint, log::add, losses::add);
            assertTrue(log.get(0).contains("resumed at step 8"), log.get(0));
            assertEquals(4, losses.size(), "steps 9 to 12 only");
            assertEquals(straight.keySet(), resumed.keySet());
            for (String k : straight.keySet()) {
                assertTrue(TensorCompare.exact(resumed.get(k), straight.get(k)).pass(), k + " differs from the uninterrupted run");
            }
        }
    }

    @Test
    void fp16TrainingWithLossScalingFollowsTheFp32Run() {
        // The CUDA path (fp16 weights, fp32 masters, loss scaling) run on the CPU at the official learning rate.
        Technique.Esd config = config(EsdTrainMethod.XATTN, 6);
        Esd.Training training = new Esd.Training(6, 5e-5, 2.0, 3.0, 4, 7);
        try (Scope s = Scope.open();
                StableDiffusionPipeline half = StableDiffusionPipeline.load(dir.resolve("tiny"), new Placement("cpu", DType.F16))) {
            Map<String, Tensor> f32 = Esd.train(pipe, config, training, new Esd.Checkpoint(dir.resolve("a.safetensors"), 100), l -> {}, l -> {});
            Map<String, Tensor> f16 = Esd.train(half, config, training, new Esd.Checkpoint(dir.resolve("b.safetensors"), 100), l -> {}, l -> {});
            double dot = 0, n32 = 0, n16 = 0;
            for (String k : f32.keySet()) {
                assertEquals(torch.ScalarType.Half, f16.get(k).scalar_type().intern(), k);
                Tensor d32 = f32.get(k).sub(pipe.unet().namedParameters().get(k));
                Tensor d16 = f16.get(k).to(torch.ScalarType.Float).sub(half.unet().namedParameters().get(k).to(torch.ScalarType.Float));
                dot += d32.mul(d16).sum().item_double();
                n32 += d32.mul(d32).sum().item_double();
                n16 += d16.mul(d16).sum().item_double();
            }
            double cosine = dot / Math.sqrt(n32 * n16);
            assertTrue(cosine > 0.95, "cosine of the fp16 and fp32 weight changes " + cosine);
            assertTrue(Math.abs(Math.sqrt(n16 / n32) - 1) < 0.1, "norms of the changes " + Math.sqrt(n32) + " vs " + Math.sqrt(n16));
        }
    }

    @Test
    void aCheckpointOfAnotherConfigIsRefusedNamingTheFile() {
        Esd.Checkpoint checkpoint = new Esd.Checkpoint(dir.resolve("ck.safetensors"), 1);
        try (Scope s = Scope.open()) {
            Esd.train(pipe, config(EsdTrainMethod.XATTN, 2), fast(2), checkpoint, line -> {}, loss -> {});
            assertTrue(Files.isRegularFile(checkpoint.file()));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> Esd.train(pipe, config(EsdTrainMethod.SELFATTN, 2), fast(2), checkpoint, line -> {}, loss -> {}));
            assertTrue(e.getMessage().contains(checkpoint.file().toString()), e.getMessage());
        }
    }

    @Test
    void theDrawsFollowTheOfficialTimestepGrid() {
        for (int step = 0; step < 200; step++) {
            Esd.Draw d = Esd.Draw.of(42, step, 50, 1000);
            assertTrue(d.ddimIndex() >= 0 && d.ddimIndex() < 50);
            assertTrue(d.timestep() >= 20 * d.ddimIndex() && d.timestep() < 20 * d.ddimIndex() + 20, d.toString());
            assertEquals(d, Esd.Draw.of(42, step, 50, 1000), "a step's draw depends only on seed and step");
        }
        // train-esd.py's loop breaks after index t_enc-1, so t_enc 0 and 1 both denoise fully, t_enc 49 runs 2 steps.
        assertEquals(50, new Esd.Draw(0, 5, 0).samplingSteps(50));
        assertEquals(50, new Esd.Draw(1, 25, 0).samplingSteps(50));
        assertEquals(2, new Esd.Draw(49, 990, 0).samplingSteps(50));
    }
}

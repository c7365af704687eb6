package org.evallearn.technique;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.TinyPipeline;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Caching and in-place copying of an edited-weight technique's tensors. */
class EditedWeightsTest {
    static final String KEY = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v.weight";
    @TempDir Path dir;
    StableDiffusionPipeline pipe;
    TechniqueContext context;

    @BeforeEach
    void load() {
        TinyPipeline.write(dir.resolve("tiny"), 3);
        pipe = StableDiffusionPipeline.load(dir.resolve("tiny"), Placement.CPU_F32);
        context = new TechniqueContext("tiny", dir.resolve("cache"), 0, line -> {});
    }

    @AfterEach
    void close() {
        pipe.close();
    }

    /** The parameter plus one, handed to the caller's scope. */
    private Map<String, Tensor> plusOne(AtomicInteger calls) {
        calls.incrementAndGet();
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            return Map.of(KEY, s.handUp(pipe.unet().namedParameters().get(KEY).add(new Scalar(1.0))));
        }
    }

    private Map<String, Tensor> snapshot() {
        Map<String, Tensor> copy = new HashMap<>();
        pipe.unet().namedParameters().forEach((k, v) -> copy.put(k, v.clone()));
        return copy;
    }

    private void assertUnchanged(Map<String, Tensor> before) {
        pipe.unet().namedParameters().forEach((k, v) -> assertTrue(TensorCompare.exact(v, before.get(k)).pass(), k + " changed"));
    }

    @Test
    void theSecondCallReusesTheCacheAndSavesACopy() {
        AtomicInteger calls = new AtomicInteger();
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor original = pipe.unet().namedParameters().get(KEY).clone();
            String first = EditedWeights.apply(pipe.unet(), context, "t", "config a", Optional.empty(), Optional.empty(), () -> plusOne(calls));
            assertTrue(first.startsWith("computed t"), first);
            assertTrue(TensorCompare.exact(pipe.unet().namedParameters().get(KEY), original.add(new Scalar(1.0))).pass());

            pipe.unet().namedParameters().get(KEY).copy_(original);
            Path saved = dir.resolve("out/edit.safetensors");
            String second = EditedWeights.apply(pipe.unet(), context, "t", "config a", Optional.empty(), Optional.of(saved),
                    () -> plusOne(calls));
            assertEquals(1, calls.get(), "the second call must not recompute");
            assertTrue(second.startsWith("reused cached weights"), second);
            assertTrue(TensorCompare.exact(pipe.unet().namedParameters().get(KEY), original.add(new Scalar(1.0))).pass());
            assertTrue(Files.isRegularFile(saved));

            EditedWeights.apply(pipe.unet(), context, "t", "config b", Optional.empty(), Optional.empty(), () -> plusOne(calls));
            assertEquals(2, calls.get(), "another config is another cache entry");
            pipe.unet().namedParameters().get(KEY).copy_(original);
            String loaded = EditedWeights.apply(pipe.unet(), context, "t", "ignored", Optional.of(saved), Optional.empty(), () -> plusOne(calls));
            assertTrue(loaded.startsWith("loaded edited weights"), loaded);
            assertEquals(2, calls.get());
            assertTrue(TensorCompare.exact(pipe.unet().namedParameters().get(KEY), original.add(new Scalar(1.0))).pass());
        }
    }

    @Test
    void aTorchSaveFileIsRefusedNamingItAndHowToConvertIt() throws java.io.IOException {
        Path pt = dir.resolve("esd_nudity.safetensors"); // named as safetensors, but a torch.save zip inside
        Files.write(pt, new byte[] {'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0, 0, 0});
        org.evallearn.tensor.ModelLoadException e = assertThrows(org.evallearn.tensor.ModelLoadException.class,
                () -> EditedWeights.apply(pipe.unet(), context, "t", "k", Optional.of(pt), Optional.empty(), Map::of));
        assertTrue(e.getMessage().startsWith(pt + ": a PyTorch torch.save archive"), e.getMessage());
        assertTrue(e.getMessage().contains("safetensors.torch.save_file"), e.getMessage());
    }

    @Test
    void aBadKeyOrShapeLeavesTheModelUntouched() {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Map<String, Tensor> before = snapshot();
            Tensor good = before.get(KEY).add(new Scalar(1.0));
            Map<String, Tensor> badKey = Map.of(KEY, good, "no.such.weight", good);
            assertThrows(IllegalArgumentException.class, () -> EditedWeights.copyInto(pipe.unet(), new java.util.TreeMap<>(badKey)));
            assertUnchanged(before);
            Map<String, Tensor> badShape = new java.util.TreeMap<>(Map.of(KEY, good, "time_embedding.linear_1.weight", good));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EditedWeights.copyInto(pipe.unet(), badShape));
            assertTrue(e.getMessage().contains("time_embedding.linear_1.weight"), e.getMessage());
            assertUnchanged(before);
        }
    }
}

package org.evallearn.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.diffusion.scheduler.Scheduler;
import org.evallearn.diffusion.scheduler.StepNoise;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.evallearn.testing.Fp32;
import org.evallearn.testing.TinyWeights;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The text-to-image pipeline on a tiny random pipeline written by {@link TinyPipeline}. */
class StableDiffusionPipelineTest {
    @TempDir static Path dir;
    static StableDiffusionPipeline pipe;

    @BeforeAll
    static void load() {
        TinyPipeline.write(dir.resolve("tiny"), 11);
        pipe = StableDiffusionPipeline.load(dir.resolve("tiny"), Placement.CPU_F32);
    }

    @AfterAll
    static void close() {
        pipe.close();
    }

    private static GenerationRequest request(List<String> prompts, List<String> negatives, long... seeds) {
        return new GenerationRequest(prompts, negatives, seeds, 5, 7.5, "euler_ancestral", 32, 32);
    }

    /**
     * What is exact: a prompt's seed gives its initial latents and its step noise bit for bit,
     * whatever else is in the batch (one CPU generator per prompt, as the pipeline draws them). Around
     * a denoiser that acts per element (no matrix product, no reduction) the whole ancestral loop,
     * guidance and scheduler included, must then give a prompt's latents bit for bit alone and in a
     * batch: only the UNet's kernels may depend on the batch size.
     */
    @Test
    void aPromptsSeedGivesItsNoiseAndLoopBitForBitInAnyBatch() {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor batch = elementwiseLoop(5, 6);
            Tensor alone = elementwiseLoop(6);
            assertTrue(TensorCompare.exact(batch.narrow(0, 1, 1), alone).pass(), "the loop depends on the batch: max error "
                    + TensorCompare.exact(batch.narrow(0, 1, 1), alone).maxAbsError());
            assertTrue(TensorCompare.exact(batch.narrow(0, 0, 1), elementwiseLoop(5)).pass());
            // and the seed is what sets the noise: another seed, other latents
            assertTrue(TensorCompare.compare(alone, elementwiseLoop(7), 1e-3, 0).maxAbsError() > 1e-3);
        }
    }

    /** Initial latents and step noise drawn as {@link StableDiffusionPipeline#sample} draws them, 5 Euler-ancestral steps, noise_pred = 0.1·input. */
    private static Tensor elementwiseLoop(long... seeds) {
        List<Generator> generators = new ArrayList<>();
        try (Scope s = Scope.open()) {
            TensorVector noise = new TensorVector();
            for (long seed : seeds) {
                Generator g = Noise.generator(seed);
                generators.add(g);
                noise.push_back(Noise.randn(g, 1, 4, 16, 16));
            }
            Scheduler scheduler = pipe.scheduler("euler_ancestral");
            scheduler.setTimesteps(5);
            Tensor context = torch.zeros(seeds.length, 77, 32);
            Sampler sampler = new Sampler((input, t, ctx) -> input.mul(new Scalar(0.1)));
            return s.handUp(sampler.run(torch.cat(noise, 0), context, context, scheduler, 7.5, StepNoise.perItem(generators), null));
        } finally {
            generators.forEach(Generator::close);
        }
    }

    /**
     * What is equal up to rounding: the image. Batch 1 and batch 2 run the UNet's convolutions and
     * matrix products through differently blocked kernels, whose float32 sums round differently.
     * Error budget: each of the UNet's D weight layers (convolutions and linear maps, an upper bound
     * on the depth of any path through it) adds at most about one EPS of relative difference to
     * what it computes, in each of the N steps, and what reaches the final latents is bounded by
     * their magnitude: |batch − alone| ≤ D · N · EPS · max|latents| (here D = 201, N = 5: 1.0e-2).
     * Measured with {@link KernelSpreadProbe} under ATEN_CPU_CAPABILITY=default, avx2, avx512 and
     * 1 and 2 threads on an AMD EPYC: at most 3.9e-4 at max|latents| = 84, 39 EPS·max|latents|.
     * A mixed-up prompt or seed differs by the order of max|latents| itself.
     */
    @Test
    void aPromptsImageDependsOnItsBatchOnlyByRounding() {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open();
                SafeTensorsFile weights = SafeTensorsFile.open(dir.resolve("tiny/unet/diffusion_pytorch_model.safetensors"))) {
            Tensor batch = pipe.sample(request(List.of("a photo of a cat", "a dark forest"), null, 5, 6));
            Tensor alone = pipe.sample(request(List.of("a dark forest"), null, 6));
            assertArrayEquals(new long[] {2, 4, 16, 16}, batch.shape());
            long layers = weights.infos().values().stream().filter(i -> i.shape().length >= 2).count();
            int steps = 5;
            double budget = layers * steps * Fp32.EPS * batch.abs().max().item_double();
            TensorCompare.Result r = TensorCompare.compare(batch.narrow(0, 1, 1), alone, budget, 0);
            assertTrue(r.pass(), "second image of the batch vs alone: max error " + r.maxAbsError() + ", budget " + budget
                    + " (" + layers + " layers × " + steps + " steps × EPS × max|latents|)");
            assertTrue(budget < 1e-2 * batch.abs().max().item_double(), "a budget this loose would hide a mix-up: " + budget);
        }
    }

    @Test
    void theNegativePromptReplacesTheEmptyOne() {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor plain = pipe.sample(request(List.of("a photo of a cat"), null, 1));
            Tensor empty = pipe.sample(request(List.of("a photo of a cat"), List.of(""), 1));
            Tensor negative = pipe.sample(request(List.of("a photo of a cat"), List.of("blood"), 1));
            assertTrue(TensorCompare.exact(plain, empty).pass(), "null negatives mean the empty prompt");
            assertTrue(TensorCompare.compare(plain, negative, 1e-3, 0).maxAbsError() > 1e-3, "a negative prompt changes the image");
        }
    }

    @Test
    void decodesToEightBitImagesOfTheRequestedSize() {
        List<RgbImage> images = pipe.generate(new GenerationRequest(List.of("a red house", "a cat"), null, new long[] {1, 2},
                2, 7.5, null, 48, 64));
        assertEquals(2, images.size());
        assertEquals(64, images.get(0).width());
        assertEquals(48, images.get(0).height());
        assertEquals(64 * 48 * 3, images.get(0).rgb().length);
    }

    @Test
    void sizesThatTheVaeCannotMakeAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> pipe.sample(new GenerationRequest(List.of("x"), null, new long[] {1}, 2, 7.5, null, 33, 32)));
        assertTrue(e.getMessage().contains("multiples of 2"), e.getMessage());
    }

    /**
     * A folder as {@code models pull ID --variant fp16} leaves it, holding only the
     * {@code *.fp16.safetensors} weights, loads on the CPU in fp32 with those weights widened exactly.
     */
    @Test
    void anFp16OnlyFolderLoadsInFp32() throws java.io.IOException {
        Path fp16 = dir.resolve("fp16-only");
        TinyPipeline.write(fp16, 11);
        for (String part : List.of("text_encoder/model", "unet/diffusion_pytorch_model", "vae/diffusion_pytorch_model")) {
            Path plain = fp16.resolve(part + ".safetensors");
            try (Scope s = Scope.open(); org.evallearn.tensor.SafeTensorsFile f = org.evallearn.tensor.SafeTensorsFile.open(plain)) {
                java.util.Map<String, Tensor> half = new java.util.LinkedHashMap<>();
                for (String k : f.infos().keySet()) half.put(k, f.get(k).to(org.bytedeco.pytorch.global.torch.ScalarType.Half));
                org.evallearn.tensor.SafeTensorsWriter.write(fp16.resolve(part + ".fp16.safetensors"), half);
            }
            java.nio.file.Files.delete(plain);
        }
        try (StableDiffusionPipeline half = StableDiffusionPipeline.load(fp16, Placement.CPU_F32);
                Scope s = Scope.open()) {
            for (var e : pipe.unet().namedParameters().entrySet()) {
                Tensor loaded = half.unet().namedParameters().get(e.getKey());
                assertEquals(org.bytedeco.pytorch.global.torch.ScalarType.Float, loaded.scalar_type().intern(), e.getKey());
                Tensor rounded = e.getValue().to(org.bytedeco.pytorch.global.torch.ScalarType.Half).to(org.bytedeco.pytorch.global.torch.ScalarType.Float);
                assertTrue(loaded.equal(rounded), e.getKey() + " is the fp16 value widened");
            }
            assertEquals(1, half.generate(request(List.of("a cat"), null, 3)).size());
        }
    }

    @Test
    void theEmbeddingsAreTheTextEncodersLastHiddenState() {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor e = pipe.encodePrompts(List.of("a cat", "a dog"));
            assertArrayEquals(new long[] {2, 77, 32}, e.shape());
        }
    }

    @Test
    void anImageWhoseLatentsTurnNonFiniteFailsAloneAndItsBatchMatesAreKept() {
        Path nanForZebra = dir.resolve("nan-for-zebra");
        TinyPipeline.write(nanForZebra, 11);
        TinyWeights.nanFor(nanForZebra, "zebra");
        try (StableDiffusionPipeline p = StableDiffusionPipeline.load(nanForZebra, Placement.CPU_F32)) {
            NonFiniteImagesException e = assertThrows(NonFiniteImagesException.class,
                    () -> p.generate(request(List.of("a photo of a cat", "a zebra", "a dark forest"), null, 5, 6, 7)));
            assertEquals(java.util.Set.of(1), e.failures().keySet(), e.getMessage());
            assertTrue(e.getMessage().startsWith("image 2 of 3: the latents turned non-finite (NaN/Inf) during sampling"), e.getMessage());
            assertEquals(3, e.images().size());
            assertNull(e.images().get(1));
            for (int i : new int[] {0, 2}) assertEquals(32, e.images().get(i).width(), "batch-mate " + i + " is decoded");
            // Without the NaN prompt nothing fails: the check is per image, not per batch.
            assertEquals(2, p.generate(request(List.of("a photo of a cat", "a dark forest"), null, 5, 7)).size());
        }
    }
}

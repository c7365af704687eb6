package org.evallearn.diffusion;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.image.ImageDecoder;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not a test (surefire's default includes skip the name): prints the differences that the
 * tolerances of the kernel-dependent tests are budgeted for, so the budgets can be checked under
 * another kernel family or thread count:
 * {@code ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 mvn -B -o test -Dtest=KernelSpreadProbe}.
 */
class KernelSpreadProbe {
    @TempDir Path dir;

    static void print(String what, double value) {
        System.out.printf(Locale.ROOT, "PROBE %-44s %.3e%n", what, value);
    }

    @Test
    void printSpreads() throws Exception {
        org.evallearn.tensor.Natives.load();
        System.out.printf("PROBE capability %s threads %d%n", torch.get_cpu_capability().getString(), torch.get_num_threads());
        try (Scope s = Scope.open(); SafeTensorsFile io = SafeTensorsFile.open(Shared.golden("rng").resolve("io.safetensors"))) {
            double worst = 0;
            for (long seed : new long[] {0, 42, 1234}) {
                worst = Math.max(worst, TensorCompare.exact(Noise.initialLatents(seed, 1, 4, 64, 64), io.get("randn_1x4x64x64_seed" + seed)).maxAbsError());
            }
            print("rng vs golden", worst);
        }
        try (Scope s = Scope.open()) {
            Tensor q = Noise.initialLatents(1, 2, 3, 5, 8);
            for (long keys : new long[] {5, 7}) {
                Tensor k = Noise.initialLatents(2, 2, 3, keys, 8).mul(new Scalar(3));
                Tensor v = Noise.initialLatents(3, 2, 3, keys, 8);
                Tensor fused = AttentionKernel.FUSED.apply(q, k, v);
                Tensor upcast = AttentionKernel.UPCAST.apply(q, k, v);
                Tensor reference = q.matmul(k.transpose(-1, -2)).div(new Scalar(Math.sqrt(8))).softmax(-1).matmul(v);
                print("attention upcast-fused keys=" + keys, TensorCompare.compare(upcast, fused, 0, 0).maxAbsError());
                print("attention upcast-reference keys=" + keys, TensorCompare.compare(upcast, reference, 0, 0).maxAbsError());
                print("attention max|out| keys=" + keys, fused.abs().max().item_double());
            }
        }
        {
            UNetConfig upcast = UNet2DConditionModelTest.sd2StyleConfig();
            com.fasterxml.jackson.databind.node.ObjectNode plain = (com.fasterxml.jackson.databind.node.ObjectNode) upcast.toJson();
            plain.put("upcast_attention", false);
            try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
                var gen = new GeneratorOptional(torch.make_generator_cpu(5));
                Tensor sample = torch.randn(new long[] {2, 4, 8, 8}, gen);
                Tensor ctx = torch.randn(new long[] {2, 5, 24}, gen);
                Tensor t = Tensor.create(new long[] {981, 1}, 2);
                Tensor[] outs = new Tensor[2];
                UNetConfig[] cfgs = {upcast, UNetConfig.from(new org.evallearn.tensor.ConfigFile("plain", plain))};
                for (int i = 0; i < 2; i++) {
                    try (UNet2DConditionModel unet = UNet2DConditionModel.random(cfgs[i], new RandomBinder(17, Placement.CPU_F32))) {
                        outs[i] = unet.forward(sample, t, ctx).clone();
                    }
                }
                print("unet upcast-fused", TensorCompare.compare(outs[0], outs[1], 0, 0).maxAbsError());
                print("unet max|out|", outs[0].abs().max().item_double());
            }
        }
        TinyPipeline.write(dir.resolve("tiny"), 11);
        try (SafeTensorsFile weights = SafeTensorsFile.open(dir.resolve("tiny/unet/diffusion_pytorch_model.safetensors"))) {
            print("tiny unet weight layers (rank >= 2)", weights.infos().values().stream().filter(i -> i.shape().length >= 2).count());
        }
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(dir.resolve("tiny"), Placement.CPU_F32);
                InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            for (int steps : new int[] {1, 5}) {
                Tensor batch = pipe.sample(new GenerationRequest(List.of("a photo of a cat", "a dark forest"), null, new long[] {5, 6}, steps, 7.5, "euler_ancestral", 32, 32));
                Tensor alone = pipe.sample(new GenerationRequest(List.of("a dark forest"), null, new long[] {6}, steps, 7.5, "euler_ancestral", 32, 32));
                Tensor first = pipe.sample(new GenerationRequest(List.of("a photo of a cat"), null, new long[] {5}, steps, 7.5, "euler_ancestral", 32, 32));
                print("pipeline steps=" + steps + " item1 batch-alone", TensorCompare.compare(batch.narrow(0, 1, 1), alone, 0, 0).maxAbsError());
                print("pipeline steps=" + steps + " item0 batch-alone", TensorCompare.compare(batch.narrow(0, 0, 1), first, 0, 0).maxAbsError());
                print("pipeline steps=" + steps + " max|latents|", batch.abs().max().item_double());
                Tensor ctx = pipe.encodePrompts(List.of("", "", "a photo of a cat", "a dark forest"));
                Tensor ctxAlone = pipe.encodePrompts(List.of("", "a dark forest"));
                print("text encoder batch-alone", TensorCompare.compare(ctx.narrow(0, 3, 1), ctxAlone.narrow(0, 1, 1), 0, 0).maxAbsError());
                Tensor x = Noise.initialLatents(9, 4, 4, 16, 16).mul(new Scalar(14.6));
                Tensor one = pipe.unet().forward(x.narrow(0, 1, 1), Tensor.create(new long[] {981}, 1), ctx.narrow(0, 1, 1));
                Tensor four = pipe.unet().forward(x, Tensor.create(new long[] {981, 981, 981, 981}, 4), ctx);
                print("unet single forward batch4-alone", TensorCompare.compare(four.narrow(0, 1, 1), one, 0, 0).maxAbsError());
                print("unet single forward max|eps|", four.abs().max().item_double());
            }
        }
        try (Scope s = Scope.open(); SafeTensorsFile io = SafeTensorsFile.open(Shared.golden("clip-preprocess").resolve("io.safetensors"))) {
            RgbImage input = ImageDecoder.read(Shared.golden("clip-preprocess").resolve("input.png"));
            Tensor actual = ClipPreprocess.pixelValues(List.of(input), ClipPreprocess.SIZE, "cpu");
            print("clip-preprocess vs golden", TensorCompare.compare(actual.select(0, 0), io.get("pixel_values"), 0, 0).maxAbsError());
        }
    }
}

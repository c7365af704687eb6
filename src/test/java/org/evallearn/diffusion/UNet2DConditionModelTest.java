package org.evallearn.diffusion;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.evallearn.testing.Fp32;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UNet2DConditionModelTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path tmp;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    @Test
    void matchesDiffusersOnGoldenTinyUNet() {
        Path dir = Shared.golden("unet-tiny");
        try (InferenceMode guard = new InferenceMode();
                UNet2DConditionModel unet = UNet2DConditionModel.load(dir, null, Placement.CPU_F32);
                SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("io.safetensors"));
                Scope s = Scope.open()) {
            Tensor out = unet.forward(io.get("sample"), io.get("timestep"), io.get("encoder_hidden_states"));
            TensorCompare.Result r = TensorCompare.compare(out, io.get("out"), 1e-4, 1e-3);
            System.out.println("unet-tiny out: max abs error " + r.maxAbsError());
            assertTrue(r.pass(), "unet-tiny out differs from diffusers: max abs error " + r.maxAbsError() + " " + r.problem());
        }
    }

    @Test
    void scalarTimestepIsBroadcastToTheBatch() {
        Path dir = Shared.golden("unet-tiny");
        try (InferenceMode guard = new InferenceMode();
                UNet2DConditionModel unet = UNet2DConditionModel.load(dir, null, Placement.CPU_F32);
                SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("io.safetensors"));
                Scope s = Scope.open()) {
            Tensor sample = io.get("sample"), ctx = io.get("encoder_hidden_states");
            Tensor scalar = unet.forward(sample, Tensor.create(new long[] {981}).reshape(), ctx);
            Tensor perItem = unet.forward(sample, Tensor.create(new long[] {981, 981}, 2), ctx);
            assertTrue(TensorCompare.exact(scalar, perItem).pass());
        }
    }

    @Test
    void unsupportedConfigValueFailsNamingTheField() throws IOException {
        ObjectNode cfg = goldenConfig();
        cfg.put("class_embed_type", "timestep");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> UNetConfig.from(new ConfigFile("test config", cfg)));
        assertTrue(e.getMessage().contains("class_embed_type"), e.getMessage());

        ObjectNode cfg2 = goldenConfig();
        cfg2.putArray("down_block_types").add("CrossAttnDownBlock2D").add("SimpleCrossAttnDownBlock2D").add("DownBlock2D");
        ModelLoadException e2 = assertThrows(ModelLoadException.class, () -> UNetConfig.from(new ConfigFile("test config", cfg2)));
        assertTrue(e2.getMessage().contains("SimpleCrossAttnDownBlock2D"), e2.getMessage());
    }

    @Test
    void weightFileWithMissingOrMisshapedKeyFailsListingIt() throws IOException {
        Path dir = Shared.golden("unet-tiny");
        String dropped = "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight";
        String bent = "up_blocks.1.resnets.2.conv_shortcut.weight";
        Path broken = tmp.resolve("broken");
        Files.createDirectories(broken);
        Files.copy(dir.resolve("config.json"), broken.resolve("config.json"));
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("diffusion_pytorch_model.safetensors"))) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String k : f.infos().keySet()) if (!k.equals(dropped)) tensors.put(k, f.get(k));
            tensors.put(bent, torch.zeros(64, 3));
            SafeTensorsWriter.write(broken.resolve("diffusion_pytorch_model.safetensors"), tensors);
        }
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> UNet2DConditionModel.load(broken, null, Placement.CPU_F32).close());
        assertTrue(e.getMessage().contains("missing keys:\n    " + dropped), e.getMessage());
        assertTrue(e.getMessage().contains("mis-shaped keys:\n    " + bent), e.getMessage());
    }

    @Test
    void randomModelHasExactlyTheKeysAndShapesOfTheDiffusersFile() throws IOException {
        Path dir = Shared.golden("unet-tiny");
        UNetConfig cfg = UNetConfig.read(dir);
        RandomBinder binder = new RandomBinder(7, Placement.CPU_F32);
        try (UNet2DConditionModel unet = UNet2DConditionModel.random(cfg, binder);
                SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("diffusion_pytorch_model.safetensors"))) {
            assertEquals(new TreeSet<>(f.infos().keySet()), new TreeSet<>(binder.tensors().keySet()));
            for (var e : binder.tensors().entrySet()) {
                assertArrayEquals(f.infos().get(e.getKey()).shape(), e.getValue().shape(), e.getKey());
            }
        }
    }

    @Test
    void configRoundTripsThroughDiffusersJson() throws IOException {
        UNetConfig cfg = UNetConfig.read(Shared.golden("unet-tiny"));
        assertEquals(cfg, UNetConfig.from(new ConfigFile("round trip", cfg.toJson())));
        UNetConfig sd2 = sd2StyleConfig();
        assertEquals(sd2, UNetConfig.from(new ConfigFile("round trip", sd2.toJson())));
    }

    @Test
    void sd2StyleUNetWithHeadListAndLinearProjectionRuns() throws IOException {
        UNetConfig cfg = sd2StyleConfig();
        RandomBinder binder = new RandomBinder(11, Placement.CPU_F32);
        try (InferenceMode guard = new InferenceMode();
                UNet2DConditionModel unet = UNet2DConditionModel.random(cfg, binder);
                Scope s = Scope.open()) {
            var first = assertInstanceOf(CrossAttnDownBlock2D.class, unet.down_blocks.get(0));
            assertNull(first.attentions.get(0).proj_in_conv);
            assertArrayEquals(new long[] {64, 64}, binder.tensors().get("down_blocks.1.attentions.0.proj_in.weight").shape());
            var gen = new GeneratorOptional(torch.make_generator_cpu(3));
            // 9×7 is not a multiple of the downscale: the up path must upsample to the skip sizes.
            Tensor sample = torch.randn(new long[] {2, 4, 9, 7}, gen);
            Tensor ctx = torch.randn(new long[] {2, 5, 24}, gen);
            Tensor out = unet.forward(sample, Tensor.create(new long[] {500, 20}, 2), ctx);
            assertArrayEquals(new long[] {2, 4, 9, 7}, out.shape());
            assertTrue(out.isfinite().all().item_bool());
        }
    }

    /**
     * upcast_attention changes only where the scores are computed (fp32 instead of the tensors'
     * dtype), so in fp32 the same weights give the same output with and without it; flip_sin_to_cos
     * and freq_shift, in contrast, must reach time_proj and change it.
     */
    @Test
    void sd2FlagsReachTheModel() throws IOException {
        UNetConfig upcast = sd2StyleConfig();
        ObjectNode plain = (ObjectNode) upcast.toJson();
        plain.put("upcast_attention", false);
        ObjectNode shifted = (ObjectNode) upcast.toJson();
        shifted.put("flip_sin_to_cos", false).put("freq_shift", 1);
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            var gen = new GeneratorOptional(torch.make_generator_cpu(5));
            Tensor sample = torch.randn(new long[] {2, 4, 8, 8}, gen);
            Tensor ctx = torch.randn(new long[] {2, 5, 24}, gen);
            Tensor t = Tensor.create(new long[] {981, 1}, 2);
            Tensor[] outs = new Tensor[3];
            UNetConfig[] cfgs = {upcast, UNetConfig.from(new ConfigFile("plain", plain)), UNetConfig.from(new ConfigFile("shifted", shifted))};
            for (int i = 0; i < 3; i++) {
                try (UNet2DConditionModel unet = UNet2DConditionModel.random(cfgs[i], new RandomBinder(17, Placement.CPU_F32))) {
                    outs[i] = unet.forward(sample, t, ctx).clone();
                }
            }
            // Error budget: the two kernels sum the same products in another order in each of the A = 14
            // attention layers (7 transformer blocks × self and cross), over at most 64 keys and head
            // width 16: ≤ (64 + 16)·EPS of that layer's output scale each, passed on through a net whose
            // norms keep scales near 1, so ≤ A · 80 · EPS · max|out| (2.4e-4). Measured with
            // KernelSpreadProbe under default/avx2/avx512 × 1/2 threads: 1.4e-6..1.7e-6 at max|out| = 1.8.
            // A kernel that drops the 1/√d scale or the softmax axis differs by > 1e-2.
            double budget = 14 * (64 + 16) * Fp32.EPS * outs[0].abs().max().item_double();
            TensorCompare.Result same = TensorCompare.compare(outs[0], outs[1], budget, 0);
            assertTrue(same.pass(), "upcast vs fused attention in fp32: max error " + same.maxAbsError() + ", budget " + budget);
            assertTrue(TensorCompare.compare(outs[0], outs[2], 1e-3, 0).maxAbsError() > 1e-3, "time_proj ignores flip_sin_to_cos/freq_shift");
        }
    }

    /** A later issue fine-tunes the UNet: gradients must reach the weights through both attention kernels. */
    @Test
    void gradientsFlowToWeightsAndInput() throws IOException {
        for (UNetConfig cfg : new UNetConfig[] {UNetConfig.read(Shared.golden("unet-tiny")), sd2StyleConfig()}) {
            RandomBinder binder = new RandomBinder(13, Placement.CPU_F32);
            try (UNet2DConditionModel unet = UNet2DConditionModel.random(cfg, binder); Scope s = Scope.open()) {
                Tensor toK = binder.tensors().get("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight");
                toK.set_requires_grad(true);
                var gen = new GeneratorOptional(torch.make_generator_cpu(4));
                Tensor sample = torch.randn(new long[] {1, 4, 8, 8}, gen).set_requires_grad(true);
                Tensor ctx = torch.randn(new long[] {1, 3, cfg.crossAttentionDim()}, gen);
                unet.forward(sample, Tensor.create(new long[] {10}, 1), ctx).square().sum().backward();
                assertTrue(toK.grad().defined() && toK.grad().abs().sum().item_double() > 0, "no gradient at attn2.to_k");
                assertTrue(sample.grad().defined() && sample.grad().isfinite().all().item_bool(), "no gradient at the input");
            }
        }
    }

    /** SD 2.x style: per-block head counts, Linear projections, fp32-upcast attention. */
    static UNetConfig sd2StyleConfig() throws IOException {
        ObjectNode c = goldenConfig();
        c.putArray("block_out_channels").add(32).add(64).add(64);
        c.putArray("attention_head_dim").add(2).add(4).add(8);
        c.put("use_linear_projection", true);
        c.put("upcast_attention", true);
        c.put("cross_attention_dim", 24);
        c.put("norm_num_groups", 8);
        c.put("layers_per_block", 1);
        UNetConfig cfg = UNetConfig.from(new ConfigFile("sd2-style", c));
        assertEquals(java.util.List.of(2, 4, 8), cfg.attentionHeads());
        return cfg;
    }

    private static ObjectNode goldenConfig() throws IOException {
        return (ObjectNode) JSON.readTree(Shared.golden("unet-tiny").resolve("config.json").toFile());
    }
}

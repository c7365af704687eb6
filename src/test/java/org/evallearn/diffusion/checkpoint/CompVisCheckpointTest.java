package org.evallearn.diffusion.checkpoint;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Init;
import org.evallearn.tensor.Model;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompVisCheckpointTest {
    @TempDir Path dir;

    @BeforeAll
    static void load() {
        Natives.load();
    }

    /** Stands in for the real models: asks for the given diffusers keys and keeps what it got. */
    static final class Probe extends Model {
        final Map<String, Tensor> got = new LinkedHashMap<>();

        Probe(Params p, Map<String, long[]> wants) {
            wants.forEach((k, shape) -> got.put(k, p.get(k, Init.FAN_IN, shape)));
        }
    }

    private static Tensor range(long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return torch.arange(new org.bytedeco.pytorch.Scalar(n)).to(torch.ScalarType.Float).reshape(shape);
    }

    /** A few tensors of each part of an SD 1.x file under their CompVis names, plus the extras real files carry. */
    private Map<String, Tensor> tinyCompVisTensors() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("model.diffusion_model.input_blocks.0.0.weight", range(2, 4, 3, 3));
        t.put("model.diffusion_model.output_blocks.5.2.conv.weight", range(2, 2, 3, 3));
        t.put("model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", range(2, 3));
        t.put("first_stage_model.encoder.mid.attn_1.q.weight", range(2, 2, 1, 1));
        t.put("first_stage_model.decoder.up.3.block.0.nin_shortcut.bias", range(2));
        t.put("cond_stage_model.transformer.embeddings.token_embedding.weight", range(3, 2));
        t.put("cond_stage_model.transformer.text_model.final_layer_norm.weight", range(2));
        t.put("cond_stage_model.transformer.text_model.embeddings.position_ids", torch.arange(new org.bytedeco.pytorch.Scalar(77)).reshape(1, 77));
        t.put("alphas_cumprod", range(4));
        t.put("model_ema.decay", range(1));
        return t;
    }

    private Path write(String name, Map<String, Tensor> tensors) {
        Path p = dir.resolve(name);
        SafeTensorsWriter.write(p, tensors);
        return p;
    }

    @Test
    void bindsEachModelFromTheOneFileUnderDiffusersKeys() {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> file = tinyCompVisTensors();
            CompVisCheckpoint ckpt = CompVisCheckpoint.open(write("v1-tiny.safetensors", file));

            ConfigFile unetConfig = new ConfigFile("sd1 unet", ckpt.unetConfig());
            try (Probe unet = ckpt.load(ckpt.unet(unetConfig), Placement.CPU_F32, p -> new Probe(p, Map.of(
                    "conv_in.weight", new long[] {2, 4, 3, 3},
                    "up_blocks.1.upsamplers.0.conv.weight", new long[] {2, 2, 3, 3},
                    "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight", new long[] {2, 3})))) {
                assertTrue(unet.got.get("conv_in.weight").equal(file.get("model.diffusion_model.input_blocks.0.0.weight")));
                assertTrue(unet.got.get("up_blocks.1.upsamplers.0.conv.weight").equal(file.get("model.diffusion_model.output_blocks.5.2.conv.weight")));
            }

            ConfigFile vaeConfig = new ConfigFile("sd1 vae", Sd1Configs.vae());
            try (Probe vae = ckpt.load(ckpt.vae(vaeConfig), Placement.CPU_F32, p -> new Probe(p, Map.of(
                    "encoder.mid_block.attentions.0.to_q.weight", new long[] {2, 2},
                    "decoder.up_blocks.0.resnets.0.conv_shortcut.bias", new long[] {2})))) {
                Tensor q = vae.got.get("encoder.mid_block.attentions.0.to_q.weight");
                assertArrayEquals(new long[] {2, 2}, q.shape());
                assertTrue(q.equal(file.get("first_stage_model.encoder.mid.attn_1.q.weight").view(2, 2)));
            }

            try (Probe text = ckpt.load(ckpt.textEncoder(), Placement.CPU_F32, p -> new Probe(p, Map.of(
                    "text_model.embeddings.token_embedding.weight", new long[] {3, 2},
                    "text_model.final_layer_norm.weight", new long[] {2})))) {
                assertTrue(text.got.get("text_model.embeddings.token_embedding.weight")
                        .equal(file.get("cond_stage_model.transformer.embeddings.token_embedding.weight")));
            }
        }
    }

    @Test
    void missingTensorIsReportedUnderBothNames() {
        try (Scope s = Scope.open()) {
            CompVisCheckpoint ckpt = CompVisCheckpoint.open(write("v1-tiny.safetensors", tinyCompVisTensors()));
            ConfigFile unetConfig = new ConfigFile("sd1 unet", ckpt.unetConfig());
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> ckpt.load(ckpt.unet(unetConfig), Placement.CPU_F32,
                    p -> new Probe(p, Map.of("conv_in.weight", new long[] {2, 4, 3, 3}, "conv_out.bias", new long[] {4}))));
            assertTrue(e.getMessage().contains("conv_out.bias [4] (also tried model.diffusion_model.out.2.bias)"), e.getMessage());
            // the UNet tensors this probe did not ask for are unexpected; the other parts' are not
            assertTrue(e.getMessage().contains("2 unexpected keys"), e.getMessage());
            assertFalse(e.getMessage().contains("first_stage_model."), e.getMessage());
        }
    }

    @Test
    void unetConfigTakesInChannelsFromTheFile() {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> t = tinyCompVisTensors();
            t.put("model.diffusion_model.input_blocks.0.0.weight", range(2, 9, 3, 3));
            CompVisCheckpoint ckpt = CompVisCheckpoint.open(write("inpaint.safetensors", t));
            assertEquals(9, ckpt.unetConfig().get("in_channels").asInt());
            assertEquals(320, ckpt.unetConfig().get("block_out_channels").get(0).asInt());
        }
    }

    @Test
    void refusesPicklesWithoutReadingThem() throws Exception {
        Path ckpt = Files.write(dir.resolve("v1-5-pruned-emaonly.ckpt"), new byte[] {(byte) 0x80, 2});
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> CompVisCheckpoint.open(ckpt));
        assertTrue(e.getMessage().contains("pickled checkpoints are never loaded"), e.getMessage());
        assertTrue(e.getMessage().contains("convert it to .safetensors"), e.getMessage());
    }

    @Test
    void refusesSd2AndSdxlAndPartialFiles() {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> sd2 = tinyCompVisTensors();
            sd2.keySet().removeIf(k -> k.startsWith("cond_stage_model."));
            sd2.put("cond_stage_model.model.transformer.resblocks.0.ln_1.weight", range(2));
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> CompVisCheckpoint.open(write("sd2.safetensors", sd2)));
            assertTrue(e.getMessage().contains("SD 2.x single-file checkpoints are not supported yet; use the diffusers folder"), e.getMessage());

            Map<String, Tensor> sdxl = tinyCompVisTensors();
            sdxl.put("conditioner.embedders.0.transformer.text_model.final_layer_norm.weight", range(2));
            e = assertThrows(ModelLoadException.class, () -> CompVisCheckpoint.open(write("sdxl.safetensors", sdxl)));
            assertTrue(e.getMessage().contains("SDXL single-file checkpoints are not supported"), e.getMessage());

            Map<String, Tensor> noVae = tinyCompVisTensors();
            noVae.keySet().removeIf(k -> k.startsWith("first_stage_model."));
            e = assertThrows(ModelLoadException.class, () -> CompVisCheckpoint.open(write("novae.safetensors", noVae)));
            assertTrue(e.getMessage().contains("no tensor starts with 'first_stage_model.'"), e.getMessage());
        }
    }
}

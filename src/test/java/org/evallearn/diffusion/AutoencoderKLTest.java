package org.evallearn.diffusion;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AutoencoderKLTest {
    @TempDir Path tmp;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    @Test
    void matchesDiffusersOnGoldenTinyVae() {
        Path dir = Shared.golden("vae-tiny");
        try (InferenceMode guard = new InferenceMode();
                AutoencoderKL vae = AutoencoderKL.load(dir, null, Placement.CPU_F32);
                SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("io.safetensors"));
                Scope s = Scope.open()) {
            assertEquals(0.18215, vae.scalingFactor());
            assertAgrees("decoded", vae.decode(io.get("latents")), io.get("decoded"));
            Posterior posterior = vae.encode(io.get("image"));
            assertAgrees("posterior_mean", posterior.mean(), io.get("posterior_mean"));
            assertAgrees("posterior_logvar", posterior.logvar(), io.get("posterior_logvar"));
        }
    }

    /** CompVis/stable-diffusion-v1-4's VAE predates diffusers 0.14: query/key/value/proj_attn, possibly as 1×1 convs. */
    @Test
    void loadsLegacyAttentionKeyNames() throws IOException {
        Path dir = Shared.golden("vae-tiny");
        Path legacy = tmp.resolve("legacy-vae");
        Files.createDirectories(legacy);
        Files.copy(dir.resolve("config.json"), legacy.resolve("config.json"));
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("diffusion_pytorch_model.safetensors"))) {
            Map<String, Tensor> renamed = new LinkedHashMap<>();
            for (String k : f.infos().keySet()) {
                List<String> old = AutoencoderKL.legacyNames(k);
                Tensor t = f.get(k);
                // the encoder's as 1×1 conv weights, the decoder's as plain Linear weights
                boolean asConv = !old.isEmpty() && k.startsWith("encoder.") && k.endsWith(".weight");
                renamed.put(old.isEmpty() ? k : old.get(0), asConv ? t.reshape(t.size(0), t.size(1), 1, 1) : t);
            }
            assertTrue(renamed.containsKey("decoder.mid_block.attentions.0.proj_attn.weight"));
            assertTrue(renamed.containsKey("encoder.mid_block.attentions.0.query.weight"));
            SafeTensorsWriter.write(legacy.resolve("diffusion_pytorch_model.safetensors"), renamed);
        }
        try (InferenceMode guard = new InferenceMode();
                AutoencoderKL vae = AutoencoderKL.load(legacy, null, Placement.CPU_F32);
                SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("io.safetensors"));
                Scope s = Scope.open()) {
            assertAgrees("legacy decoded", vae.decode(io.get("latents")), io.get("decoded"));
            assertAgrees("legacy posterior_mean", vae.encode(io.get("image")).mean(), io.get("posterior_mean"));
        }
    }

    @Test
    void legacyNamesCoverOnlyAttentionProjections() {
        assertEquals(List.of("decoder.mid_block.attentions.0.query.bias"),
                AutoencoderKL.legacyNames("decoder.mid_block.attentions.0.to_q.bias"));
        assertEquals(List.of("encoder.mid_block.attentions.0.proj_attn.weight"),
                AutoencoderKL.legacyNames("encoder.mid_block.attentions.0.to_out.0.weight"));
        assertEquals(List.of(), AutoencoderKL.legacyNames("encoder.mid_block.attentions.0.group_norm.weight"));
        assertEquals(List.of(), AutoencoderKL.legacyNames("encoder.conv_in.weight"));
    }

    @Test
    void randomModelHasExactlyTheKeysAndShapesOfTheDiffusersFile() {
        Path dir = Shared.golden("vae-tiny");
        RandomBinder binder = new RandomBinder(5, Placement.CPU_F32);
        try (AutoencoderKL vae = AutoencoderKL.random(AutoencoderKLConfig.read(dir), binder);
                SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("diffusion_pytorch_model.safetensors"))) {
            assertEquals(new TreeSet<>(f.infos().keySet()), new TreeSet<>(binder.tensors().keySet()));
            for (var e : binder.tensors().entrySet()) {
                assertArrayEquals(f.infos().get(e.getKey()).shape(), e.getValue().shape(), e.getKey());
            }
        }
    }

    @Test
    void configRoundTripsAndRejectsOtherBlocks() throws IOException {
        Path dir = Shared.golden("vae-tiny");
        AutoencoderKLConfig cfg = AutoencoderKLConfig.read(dir);
        assertEquals(cfg, AutoencoderKLConfig.from(new ConfigFile("round trip", cfg.toJson())));

        ObjectNode bad = (ObjectNode) new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        bad.putArray("down_block_types").add("DownEncoderBlock2D").add("AttnDownEncoderBlock2D");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> AutoencoderKLConfig.from(new ConfigFile("bad", bad)));
        assertTrue(e.getMessage().contains("down_block_types"), e.getMessage());
    }

    private static void assertAgrees(String what, Tensor actual, Tensor expected) {
        TensorCompare.Result r = TensorCompare.compare(actual, expected, 1e-4, 1e-3);
        System.out.println("vae-tiny " + what + ": max abs error " + r.maxAbsError());
        assertTrue(r.pass(), what + " differs from diffusers: max abs error " + r.maxAbsError() + " " + r.problem());
    }
}

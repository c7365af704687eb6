package org.evallearn.diffusion.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.diffusion.GenerationRequest;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.diffusion.TinyPipeline;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The single-file success path: the tiny pipeline's weights written under CompVis keys (the
 * diffusers → CompVis direction of {@link CompVisKeys}, as the original checkpoints store them)
 * load through {@link StableDiffusionPipeline#loadSingleFile} and generate what the diffusers
 * folder generates.
 */
class CompVisSingleFileTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path dir;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    /** One file holding the folder's UNet, VAE and text encoder under their CompVis names. */
    private static Path compVisFile(Path folder, Path file) {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            CompVisKeys.UNetLayout unet = CompVisKeys.UNetLayout.of(ConfigFile.read(folder.resolve("unet/config.json")));
            CompVisKeys.VaeLayout vae = CompVisKeys.VaeLayout.of(ConfigFile.read(folder.resolve("vae/config.json")));
            try (SafeTensorsFile f = SafeTensorsFile.open(folder.resolve("unet/diffusion_pytorch_model.safetensors"))) {
                for (String k : f.infos().keySet()) out.put(required(CompVisKeys.unet(unet, k), k), f.get(k).clone());
            }
            try (SafeTensorsFile f = SafeTensorsFile.open(folder.resolve("vae/diffusion_pytorch_model.safetensors"))) {
                for (String k : f.infos().keySet()) {
                    Tensor t = f.get(k).clone();
                    // CompVis keeps the VAE attention's q/k/v/proj_out as 1×1 convolutions
                    if (k.contains("mid_block.attentions.") && k.endsWith(".weight") && t.dim() == 2) t = t.view(t.size(0), t.size(1), 1, 1);
                    out.put(required(CompVisKeys.vae(vae, k), k), t);
                }
            }
            try (SafeTensorsFile f = SafeTensorsFile.open(folder.resolve("text_encoder/model.safetensors"))) {
                for (String k : f.infos().keySet()) out.put(CompVisKeys.textEncoder(k).get(0), f.get(k).clone());
            }
            // what real checkpoints carry besides the three models
            out.put("alphas_cumprod", org.bytedeco.pytorch.global.torch.ones(1000));
            SafeTensorsWriter.write(file, out);
            return file;
        }
    }

    private static String required(String compVisKey, String key) {
        assertNotNull(compVisKey, key + " has no CompVis name");
        return compVisKey;
    }

    /** openai/clip-vit-large-patch14's layout: tokenizer files beside the model's config.json. */
    private static Path clipFolder(Path folder, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(folder.resolve("tokenizer"))) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        Files.copy(folder.resolve("text_encoder/config.json"), to.resolve("config.json"));
        return to;
    }

    @Test
    void aTinyPipelineAsOneCompVisFileGeneratesTheFoldersImage() throws IOException {
        Path folder = dir.resolve("tiny");
        TinyPipeline.write(folder, 21);
        Path file = compVisFile(folder, dir.resolve("tiny-compvis.safetensors"));
        Path clip = clipFolder(folder, dir.resolve("clip"));

        // the configs read from the file's shapes are the folder's own
        CompVisCheckpoint ckpt = CompVisCheckpoint.open(file);
        JsonNode unet = JSON.readTree(folder.resolve("unet/config.json").toFile());
        for (String field : List.of("in_channels", "out_channels", "block_out_channels", "down_block_types", "up_block_types",
                "layers_per_block", "cross_attention_dim", "use_linear_projection", "transformer_layers_per_block", "attention_head_dim")) {
            assertEquals(unet.get(field), ckpt.unetConfig().get(field), field);
        }
        JsonNode vae = JSON.readTree(folder.resolve("vae/config.json").toFile());
        for (String field : List.of("in_channels", "out_channels", "latent_channels", "block_out_channels", "layers_per_block")) {
            assertEquals(vae.get(field), ckpt.vaeConfig().get(field), field);
        }

        GenerationRequest request = new GenerationRequest(List.of("a photo of a cat"), List.of("blood"), new long[] {5}, 2, 7.5,
                null, 32, 32);
        try (StableDiffusionPipeline fromFolder = StableDiffusionPipeline.load(folder, Placement.CPU_F32);
                StableDiffusionPipeline fromFile = StableDiffusionPipeline.load(file, clip, Placement.CPU_F32);
                InferenceMode guard = new InferenceMode();
                Scope s = Scope.open()) {
            Tensor a = fromFolder.sample(request), b = fromFile.sample(request);
            TensorCompare.Result r = TensorCompare.compare(b, a, 1e-6, 0);
            assertTrue(r.pass(), "latents from the single file vs the folder: max error " + r.maxAbsError());
            List<RgbImage> imagesA = fromFolder.decode(a), imagesB = fromFile.decode(b);
            for (int i = 0; i < imagesA.size(); i++) assertArrayEquals(imagesA.get(i).rgb(), imagesB.get(i).rgb(), "image " + i);
        }
    }

    /**
     * A header-only (sparse) file with SD 1.x's shapes at the tensors the inference reads gives
     * exactly v1-inference.yaml's configs: the shape reading changes nothing for real checkpoints.
     */
    @Test
    void sd1ShapesGiveTheV1InferenceConfigs() throws IOException {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        String u = CompVisKeys.UNET_PREFIX, v = CompVisKeys.VAE_PREFIX;
        shapes.put(u + "input_blocks.0.0.weight", new long[] {320, 4, 3, 3});
        int[] channels = {320, 640, 1280, 1280};
        for (int level = 0; level < 4; level++) {
            for (int j = 0; j < 2; j++) {
                int block = 1 + level * 3 + j;
                shapes.put(u + "input_blocks." + block + ".0.out_layers.3.weight", new long[] {channels[level], channels[level], 3, 3});
                if (level < 3) {
                    shapes.put(u + "input_blocks." + block + ".1.proj_in.weight", new long[] {channels[level], channels[level], 1, 1});
                    shapes.put(u + "input_blocks." + block + ".1.transformer_blocks.0.attn2.to_k.weight", new long[] {channels[level], 768});
                }
            }
            if (level < 3) shapes.put(u + "input_blocks." + (3 + level * 3) + ".0.op.weight", new long[] {channels[level], channels[level], 3, 3});
            if (level > 0) shapes.put(u + "output_blocks." + level * 3 + ".1.proj_in.weight", new long[] {channels[3 - level], channels[3 - level], 1, 1});
        }
        shapes.put(u + "out.2.weight", new long[] {4, 320, 3, 3});
        int[] vaeChannels = {128, 256, 512, 512};
        for (int level = 0; level < 4; level++) {
            for (int j = 0; j < 2; j++) shapes.put(v + "encoder.down." + level + ".block." + j + ".conv2.weight", new long[] {vaeChannels[level], vaeChannels[level], 3, 3});
        }
        shapes.put(v + "encoder.conv_in.weight", new long[] {128, 3, 3, 3});
        shapes.put(v + "decoder.conv_out.weight", new long[] {3, 128, 3, 3});
        shapes.put(v + "post_quant_conv.weight", new long[] {4, 4, 1, 1});
        shapes.put(CompVisKeys.TEXT_ENCODER_PREFIX + "text_model.final_layer_norm.weight", new long[] {768});
        CompVisCheckpoint ckpt = CompVisCheckpoint.open(sparse(dir.resolve("sd1-shapes.safetensors"), shapes));
        assertEquals(Sd1Configs.unet(), ckpt.unetConfig());
        assertEquals(Sd1Configs.vae(), ckpt.vaeConfig());
    }

    /** A safetensors file whose F16 data area is a hole: only the header is written. */
    private static Path sparse(Path file, Map<String, long[]> shapes) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long n = 1;
            for (long d : e.getValue()) n *= d;
            ObjectNode t = header.putObject(e.getKey()).put("dtype", "F16");
            var shape = t.putArray("shape");
            for (long d : e.getValue()) shape.add(d);
            t.putArray("data_offsets").add(offset).add(offset + 2 * n);
            offset += 2 * n;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
            raf.write(json);
            raf.setLength(8 + json.length + offset);
        }
        return file;
    }
}

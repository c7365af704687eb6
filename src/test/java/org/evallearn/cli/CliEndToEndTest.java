package org.evallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as a user runs it, on a tiny pipeline the code writes itself. */
class CliEndToEndTest {
    @TempDir static Path shared;
    static Path model;

    @TempDir Path tmp;

    record Run(int exit, String err) {}

    static Run cli(String... args) {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            return new Run(Main.execute(args), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(saved);
        }
    }

    @BeforeAll
    static void makeTiny() {
        model = shared.resolve("tiny");
        Run r = cli("models", "make-tiny", model.toString(), "--seed", "7");
        assertEquals(0, r.exit(), r.err());
    }

    @Test
    void makeTinyWritesTheDiffusersLayout() {
        for (String f : new String[] {"model_index.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
                "text_encoder/config.json", "text_encoder/model.safetensors", "unet/config.json",
                "unet/diffusion_pytorch_model.safetensors", "vae/config.json", "vae/diffusion_pytorch_model.safetensors",
                "scheduler/scheduler_config.json"}) {
            assertTrue(Files.isRegularFile(model.resolve(f)), f);
        }
        Run again = cli("models", "make-tiny", model.toString());
        assertEquals(Main.BAD_INPUT, again.exit(), "must not overwrite a pipeline: " + again.err());
    }

    @Test
    void generateWritesAPngThatDependsOnTheSeedOnly() throws IOException {
        Path a = tmp.resolve("a.png"), b = tmp.resolve("b.png"), c = tmp.resolve("c.png");
        for (Path out : new Path[] {a, b}) {
            Run r = cli("generate", "--model", model.toString(), "--prompt", "a photo of a cat", "--seed", "3",
                    "--steps", "4", "--scheduler", "ddim", "--out", out.toString());
            assertEquals(0, r.exit(), r.err());
        }
        assertEquals(0, cli("generate", "--model", model.toString(), "--prompt", "a photo of a cat", "--seed", "4",
                "--steps", "4", "--scheduler", "ddim", "--out", c.toString()).exit());
        BufferedImage image = ImageIO.read(a.toFile());
        assertEquals(32, image.getWidth()); // unet sample_size 16 × VAE scale factor 2
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(a), Files.readAllBytes(b)), "same seed, same bytes");
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(a), Files.readAllBytes(c)), "another seed, another image");
    }

    @Test
    void everySchedulerRunsFromTheCli() {
        for (String s : new String[] {"ddim", "pndm", "euler", "euler_ancestral", "lms", "dpmpp_2m"}) {
            Run r = cli("generate", "--model", model.toString(), "--prompt", "a red house", "--steps", "3",
                    "--scheduler", s, "--out", tmp.resolve(s + ".png").toString());
            assertEquals(0, r.exit(), s + ": " + r.err());
        }
        Run bad = cli("generate", "--model", model.toString(), "--prompt", "x", "--scheduler", "heun",
                "--out", tmp.resolve("x.png").toString());
        assertEquals(Main.BAD_INPUT, bad.exit());
        assertTrue(bad.err().contains("heun"), bad.err());
    }

    @Test
    void badOptionValuesAreBadInputNamingTheOption() {
        String[][] cases = {
                {"--dtype", "fp64", "dtype 'fp64' is not one of fp32, fp16, bf16"},
                {"--device", "tpu", "device 'tpu' is not cpu, cuda or cuda:N"},
                {"--height", "33", "--height and --width must be multiples of 2"},
                {"--steps", "0", "steps must be at least 1"},
                {"--guidance-scale", "-1", "guidance_scale must be >= 0"}};
        for (String[] c : cases) {
            Run r = cli("generate", "--model", model.toString(), "--prompt", "x", c[0], c[1], "--out", tmp.resolve("x.png").toString());
            assertEquals(Main.BAD_INPUT, r.exit(), c[0] + ": " + r.err());
            assertTrue(r.err().contains(c[2]), c[0] + ": " + r.err());
            assertFalse(r.err().contains("\tat org.evallearn"), "bad input gets no stack trace: " + r.err());
        }
    }

    @Test
    void onlyOurInputExceptionsAreBadInputAndOtherErrorsAreBugs() {
        assertTrue(Main.isBadInput(new org.evallearn.tensor.ModelLoadException("unet/config.json: …")));
        assertTrue(Main.isBadInput(new org.evallearn.tensor.DeviceException("no CUDA")));
        assertTrue(Main.isBadInput(new BadInputException("--scheduler")));
        assertTrue(Main.isBadInput(new org.evallearn.config.ConfigException("c.json", java.util.List.of())));
        // an IllegalArgumentException from deep inside is a broken precondition of our own code: exit 1 with its trace
        assertFalse(Main.isBadInput(new IllegalArgumentException("3 contexts for a guidance of 2 branches")));
        assertFalse(Main.isBadInput(new IllegalStateException("weights adopted twice")));
    }

    @Test
    void aBadModelFolderIsABadInputExitNamingTheProblem() throws IOException {
        Path broken = tmp.resolve("broken");
        copyTree(model, broken);
        Files.delete(broken.resolve("unet/diffusion_pytorch_model.safetensors"));
        Run missingWeights = generate(broken);
        assertEquals(Main.BAD_INPUT, missingWeights.exit(), missingWeights.err());
        assertTrue(missingWeights.err().contains("unet"), missingWeights.err());

        Path badConfig = tmp.resolve("bad-config");
        copyTree(model, badConfig);
        Path unetConfig = badConfig.resolve("unet/config.json");
        String edited = Files.readString(unetConfig).replaceFirst("\"layers_per_block\"\\s*:\\s*2", "\"layers_per_block\": \"two\"");
        assertTrue(edited.contains("\"two\""), edited);
        Files.writeString(unetConfig, edited);
        Run r = generate(badConfig);
        assertEquals(Main.BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains("layers_per_block") && r.err().contains("config.json"), r.err());

        Path truncated = tmp.resolve("truncated");
        copyTree(model, truncated);
        Path vae = truncated.resolve("vae/diffusion_pytorch_model.safetensors");
        byte[] bytes = Files.readAllBytes(vae);
        Files.write(vae, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        Run t = generate(truncated);
        assertEquals(Main.BAD_INPUT, t.exit(), t.err());
        assertTrue(t.err().contains("diffusion_pytorch_model.safetensors"), t.err());

        Run none = generate(tmp.resolve("does-not-exist"));
        assertEquals(Main.BAD_INPUT, none.exit(), none.err());
        assertFalse(Files.exists(tmp.resolve("out.png")), "no image from a failed run");
    }

    @Test
    void aSingleFileCheckpointNeedsATokenizer() throws IOException {
        Path file = tmp.resolve("model.safetensors");
        Files.copy(model.resolve("unet/diffusion_pytorch_model.safetensors"), file);
        Run r = generate(file);
        assertEquals(Main.BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains("tokenizer"), r.err());
        Run notCompVis = cli("generate", "--model", file.toString(), "--tokenizer", model.resolve("tokenizer").toString(),
                "--prompt", "a cat", "--out", tmp.resolve("out.png").toString());
        assertEquals(Main.BAD_INPUT, notCompVis.exit(), notCompVis.err());
        assertTrue(notCompVis.err().contains("model.diffusion_model."), notCompVis.err());
    }

    @Test
    void checkGoldenExitsNonZeroOnAMissingFolderAndOnOneWhereNothingRan() throws IOException {
        Run r = cli("check-golden", tmp.resolve("nope").toString());
        assertEquals(Main.BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains("golden folder does not exist"), r.err());

        // a wrong folder: only sub-folders no runner knows, so nothing is compared and nothing passes
        Files.createDirectories(tmp.resolve("wrong/unet"));
        Files.createDirectories(tmp.resolve("wrong/images"));
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertEquals(1, cli("check-golden", tmp.resolve("wrong").toString()).exit());
        } finally {
            System.setOut(saved);
        }
        String printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("SKIP") && printed.contains("FAIL: no fixture recognised"), printed);
    }

    @Test
    void aUnetWithNanWeightsIsWarnedAboutByTensorAndGenerateWritesNoPng() throws IOException {
        Path nan = tmp.resolve("nan-unet");
        copyTree(model, nan);
        org.evallearn.testing.TinyWeights.edit(nan.resolve("unet/diffusion_pytorch_model.safetensors"), (name, t) -> {
            if (name.equals("conv_in.weight")) t.select(0, 0).fill_(new org.bytedeco.pytorch.Scalar(Double.NaN));
        });
        Run r = generate(nan);
        assertEquals(Main.BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains("warning: " + nan.resolve("unet/diffusion_pytorch_model.safetensors") + ": 1 tensor of UNet2DConditionModel"
                + " holds non-finite values: conv_in.weight ("), r.err());
        assertTrue(r.err().contains("error: no image written to " + tmp.resolve("out.png") + ": image 1 of 1: the latents turned non-finite"), r.err());
        assertFalse(Files.exists(tmp.resolve("out.png")), "no NaN image on disk");
        assertFalse(r.err().contains("\tat org.evallearn"), "a clear message, not a stack trace: " + r.err());
    }

    @Test
    void fp16AskedForOnTheCpuGeneratesInFp32AndSaysSo() {
        Run r = cli("generate", "--model", model.toString(), "--prompt", "a cat", "--steps", "2", "--device", "cpu", "--dtype", "fp16",
                "--out", tmp.resolve("fp16.png").toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("note: dtype F16 was asked for on the CPU; running in F32"), r.err());
        assertTrue(r.err().contains("on cpu F32)"), r.err());
    }

    private Run generate(Path modelPath) {
        return cli("generate", "--model", modelPath.toString(), "--prompt", "a cat", "--steps", "2",
                "--out", tmp.resolve("out.png").toString());
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (var walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
    }

    @Test
    void doctorSaysWhichNativesLoadedAndWhichDeviceARunUses() {
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        Run r;
        try {
            r = cli("doctor");
        } finally {
            System.setOut(saved);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, r.exit(), r.err() + text);
        assertTrue(text.contains("libtorch         pytorch 2.10.0, "), text);
        assertTrue(text.contains("ONNX Runtime     onnxruntime 1.24.1"), text);
        org.evallearn.tensor.Natives.Status natives = org.evallearn.tensor.Natives.status();
        assertTrue(text.startsWith("platform folder  " + natives.platformFolder() + " (" + natives.torchFolder() + ")"), text);
        if (!natives.gpuBuild()) {
            assertTrue(text.contains("CPU build") && text.contains("a run uses       cpu F32 (libtorch's CUDA part is not loaded"), text);
        }
    }

    @Test
    void cudaAskedForWhereItCannotBeUsedIsBadInputNamingTheDeviceNeverTheCpu() {
        org.junit.jupiter.api.Assumptions.assumeFalse(org.evallearn.tensor.Placement.exactly(null, null).isCuda(), "CUDA is usable here");
        Run r = cli("generate", "--model", model.toString(), "--prompt", "a red house", "--steps", "2", "--device", "cuda",
                "--out", tmp.resolve("never.png").toString());
        assertEquals(Main.BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains("device 'cuda' was asked for, but CUDA cannot be used: "), r.err());
        assertFalse(Files.exists(tmp.resolve("never.png")));
    }
}

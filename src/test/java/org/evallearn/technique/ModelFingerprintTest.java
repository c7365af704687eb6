package org.evallearn.technique;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.stream.Stream;
import org.evallearn.diffusion.TinyPipeline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The base-model part of technique cache keys. */
class ModelFingerprintTest {
    @TempDir Path dir;

    private static void flipOneByte(Path file) throws IOException {
        FileTime mtime = Files.getLastModifiedTime(file);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            long at = f.length() - 1; // the last byte belongs to a tensor, not to the header
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 1);
        }
        Files.setLastModifiedTime(file, FileTime.fromMillis(mtime.toMillis() + 2000)); // a rewrite changes the mtime
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
    }

    @Test
    void sameContentSameKeyChangedWeightsAnotherKey() throws IOException {
        Path model = dir.resolve("tiny");
        TinyPipeline.write(model, 1);
        Path memo = dir.resolve("cache/fingerprints.properties");
        String first = ModelFingerprint.of(model, memo);
        assertTrue(first.startsWith("sha256:"), first);
        assertTrue(Files.isRegularFile(memo), "file hashes are memoised");
        assertEquals(first, ModelFingerprint.of(model, memo), "the same files, the same key");

        Path copy = dir.resolve("elsewhere/tiny");
        copyTree(model, copy);
        assertEquals(first, ModelFingerprint.of(copy, memo), "the key follows the content, not the path");

        Path unet = model.resolve("unet/diffusion_pytorch_model.safetensors");
        assertTrue(Files.isRegularFile(unet), "the tiny pipeline's UNet weights are where the test expects them");
        flipOneByte(unet);
        String changed = ModelFingerprint.of(model, memo);
        assertNotEquals(first, changed, "one changed UNet weight byte changes the key");
        assertEquals(changed, ModelFingerprint.of(model, memo));

        flipOneByte(copy.resolve("text_encoder").resolve(Files.list(copy.resolve("text_encoder"))
                .filter(p -> p.toString().endsWith(".safetensors")).findFirst().orElseThrow().getFileName()));
        assertNotEquals(first, ModelFingerprint.of(copy, memo), "so does a text-encoder byte");
    }

    @Test
    void partsAnEditDoesNotReadDoNotCount() throws IOException {
        Path model = dir.resolve("tiny");
        TinyPipeline.write(model, 1);
        Path memo = dir.resolve("fingerprints.properties");
        String before = ModelFingerprint.of(model, memo);
        try (Stream<Path> vae = Files.list(model.resolve("vae"))) {
            for (Path p : vae.filter(p -> p.toString().endsWith(".safetensors")).toList()) flipOneByte(p);
        }
        assertEquals(before, ModelFingerprint.of(model, memo), "the VAE does not shape an edit");
    }
}

package org.evallearn.unsafebench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Scope;

/**
 * CLIP image embeddings on disk, keyed by (image SHA-256, model): one little-endian float32 file
 * per image under {@code <root>/<model key>/<sha[0:2]>/<sha>.f32}, so a second benchmark over
 * the same images (another classifier added, a resumed run) reads them instead of running the
 * vision tower again. The model key is a fingerprint of the tower's weight and config files
 * ({@link Classifiers}), so other weights never read these. A file of the wrong length is
 * recomputed; files are written to a temporary name and renamed, so a crash leaves whole files only.
 */
public final class EmbeddingCache {
    private final Path dir;
    private int computed;
    private int reused;

    /** @param root the cache's folder; {@code modelKey} a fingerprint of the encoder's weights */
    public EmbeddingCache(Path root, String modelKey) {
        this.dir = root.resolve(modelKey.replaceAll("[^A-Za-z0-9._-]", "_"));
    }

    /**
     * (B, dim) float32 embeddings of {@code images} (whose files hash to {@code sha256}), read from
     * the cache where present and computed with {@code encoder} (one pass for all misses) and
     * stored otherwise; on the encoder's device, in the caller's scope.
     */
    public Tensor embeddings(ClipImageEncoder encoder, List<String> sha256, List<RgbImage> images) {
        int dim = Math.toIntExact(encoder.dim());
        float[] all = new float[images.size() * dim];
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            if (!read(file(sha256.get(i)), all, i * dim, dim)) missing.add(i);
        }
        if (!missing.isEmpty()) {
            float[] fresh;
            try (Scope s = Scope.open()) {
                Tensor e = encoder.encode(missing.stream().map(images::get).toList()).to(ScalarType.Float).cpu().contiguous();
                fresh = new float[(int) e.numel()];
                new FloatPointer(e.data_ptr()).capacity(fresh.length).get(fresh);
            }
            for (int k = 0; k < missing.size(); k++) {
                int i = missing.get(k);
                System.arraycopy(fresh, k * dim, all, i * dim, dim);
                write(file(sha256.get(i)), fresh, k * dim, dim);
            }
        }
        computed += missing.size();
        reused += images.size() - missing.size();
        try (Scope s = Scope.open()) {
            Tensor host = Tensor.create(all, images.size(), dim);
            return s.handUp(host.to(new org.bytedeco.pytorch.Device(encoder.device()), ScalarType.Float).clone());
        }
    }

    /** Images whose embedding this cache computed (ran the encoder on), this session. */
    public int computed() {
        return computed;
    }

    /** Images whose embedding came from disk, this session. */
    public int reused() {
        return reused;
    }

    private Path file(String sha256) {
        return dir.resolve(sha256.substring(0, 2)).resolve(sha256 + ".f32");
    }

    private static boolean read(Path file, float[] into, int offset, int dim) {
        byte[] bytes;
        try {
            if (!Files.isRegularFile(file) || Files.size(file) != 4L * dim) return false;
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            return false; // an unreadable entry costs a recomputation, not the run
        }
        if (bytes.length != 4 * dim) return false;
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(into, offset, dim);
        return true;
    }

    private static void write(Path file, float[] from, int offset, int dim) {
        ByteBuffer b = ByteBuffer.allocate(4 * dim).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(from, offset, dim);
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName() + ".", ".tmp");
            Files.write(tmp, b.array());
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the embedding cache entry " + file + ": " + e.getMessage(), e);
        }
    }
}

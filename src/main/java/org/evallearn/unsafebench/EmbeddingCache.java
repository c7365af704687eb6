package org.evallearn.unsafebench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Scope;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import org.evallearn.run.AtomicFiles;

/**
 * CLIP image embeddings on disk, one folder per model, one file per image keyed by the SHA-256
 * of the image file's bytes: adding a classifier, training a probe or rerunning a benchmark
 * never encodes an image twice with the same tower. A file is the embedding as little-endian
 * float32, nothing else, written atomically ({@link AtomicFiles}), so a reader sees a whole
 * entry or none. An entry of the wrong size (a foreign or damaged file) reads as absent and is
 * overwritten by the next {@link #put}.
 *
 * <p>Key the folder by the model's id and a fingerprint of its weights
 * ({@code run.Artefacts#weightsFingerprint}), so another checkpoint under the same id, or the tiny
 * CLIP of another seed, never reads these.
 */
public final class EmbeddingCache {
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private final Path folder;
    private final int dim;
    private int computed;
    private int reused;

    private EmbeddingCache(Path folder, int dim) {
        this.folder = folder;
        this.dim = dim;
    }

    /**
     * @param root where model folders go, e.g. {@code EVALLEARN_HOME/cache/clip-embeddings}
     * @param modelKey the model's id and weights fingerprint, e.g. {@code openai/clip-vit-large-patch14-0123456789abcdef}; characters outside {@code [A-Za-z0-9._-]} become {@code _}
     * @param dim the embedding width every entry has
     */
    public static EmbeddingCache open(Path root, String modelKey, int dim) {
        if (dim <= 0) throw new IllegalArgumentException("embedding width must be positive, got " + dim);
        if (modelKey.isBlank()) throw new IllegalArgumentException("an embedding cache needs a model key");
        return new EmbeddingCache(root.resolve(modelKey.replaceAll("[^A-Za-z0-9._-]", "_")), dim);
    }

    public Path folder() {
        return folder;
    }

    public int dim() {
        return dim;
    }

    /** The cached embedding of the image whose bytes hash to {@code imageSha256}, if a whole one is there. */
    public Optional<float[]> get(String imageSha256) {
        Path file = file(imageSha256);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the cached embedding " + file + ": " + e.getMessage(), e);
        }
        if (bytes.length != 4L * dim) return Optional.empty();
        float[] out = new float[dim];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return Optional.of(out);
    }

    public void put(String imageSha256, float[] embedding) {
        if (embedding.length != dim) {
            throw new IllegalArgumentException("embedding of width " + embedding.length + " for a cache of width " + dim + " (" + folder + ")");
        }
        ByteBuffer b = ByteBuffer.allocate(4 * dim).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(embedding);
        AtomicFiles.write(file(imageSha256), b.array());
    }

    /**
     * (B, dim) float32 embeddings of {@code images} (whose files hash to {@code sha256}), read from
     * the cache where present and computed with {@code encoder} (one pass for all misses) and
     * stored otherwise; on the encoder's device, in the caller's scope.
     */
    public Tensor embeddings(ClipImageEncoder encoder, List<String> sha256, List<RgbImage> images) {
        if (encoder.dim() != dim) throw new IllegalArgumentException("encoder of width " + encoder.dim() + " for a cache of width " + dim + " (" + folder + ")");
        float[] all = new float[images.size() * dim];
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            Optional<float[]> hit = get(sha256.get(i));
            if (hit.isPresent()) System.arraycopy(hit.get(), 0, all, i * dim, dim);
            else missing.add(i);
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
                put(sha256.get(i), Arrays.copyOfRange(fresh, k * dim, (k + 1) * dim));
            }
        }
        computed += missing.size();
        reused += images.size() - missing.size();
        try (Scope s = Scope.open()) {
            Tensor host = Tensor.create(all, images.size(), dim);
            return s.handUp(host.to(new Device(encoder.device()), ScalarType.Float).clone());
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

    /** Two-hex-digit fan-out, so no folder holds UnsafeBench's ten thousand files at once. */
    private Path file(String imageSha256) {
        String key = imageSha256.toLowerCase(Locale.ROOT);
        if (!SHA256.matcher(key).matches()) throw new IllegalArgumentException("'" + imageSha256 + "' is not a SHA-256 in hex");
        return folder.resolve(key.substring(0, 2)).resolve(key + ".f32");
    }
}

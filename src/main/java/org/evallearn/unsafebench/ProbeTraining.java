package org.evallearn.unsafebench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.data.DataException;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.detect.LinearProbe;
import org.evallearn.image.ImageDecodeException;
import org.evallearn.image.ImageDecoder;
import org.evallearn.image.RgbImage;
import org.evallearn.run.Hashing;
import org.evallearn.run.Progress;
import org.evallearn.tensor.Scope;

/**
 * {@code train-probe}'s work: CLIP image embeddings of a labelled set (from the
 * {@link EmbeddingCache}, encoding only the images it lacks), a {@link LinearProbe} fitted on
 * them — one binary safe/unsafe head, or one head per category — and its scores on a labelled
 * set. An image that cannot be read or decoded costs that image: it is listed, not embedded,
 * not trained on.
 *
 * <p>Heads per category are one-vs-rest over the whole set: category c's positives are the
 * Unsafe images of c; its negatives every other image (Safe images of any category and Unsafe
 * images of other categories). So each head answers "is this image unsafe in the way c is",
 * and the probe's verdict, unsafe when any head says so, applies to images of no known
 * category too. A category with no Unsafe image, or only Unsafe ones, has no head (listed).
 */
public final class ProbeTraining {
    public enum Heads {
        BINARY("binary"), PER_CATEGORY("per-category");

        public final String id;

        Heads(String id) {
            this.id = id;
        }

        public static Heads parse(String id) {
            for (Heads h : values()) if (h.id.equals(id)) return h;
            throw new IllegalArgumentException("'" + id + "' is not a probe kind; expected binary or per-category");
        }
    }

    /** The class of a binary probe: p(unsafe). */
    public static final String UNSAFE = "unsafe";

    private ProbeTraining() {}

    /**
     * The embedded images of a set, in its order, and those that could not be embedded.
     *
     * @param sha256 each embedded image file's SHA-256 (what the cache and the training-set hash key it by)
     * @param embeddings (N, D) float32, row i the embedding of {@code images[i]}
     * @param encoded how many images the tower encoded; the rest came from the cache
     */
    public record Embedded(List<LabelledImage> images, List<String> sha256, float[][] embeddings, List<Dataset.Rejected> failed,
            int encoded) {
        /**
         * The SHA-256 of the set as trained on, independent of its order and of file names: each
         * image's hash, label and category, one line each, sorted.
         */
        public String hash() {
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                LabelledImage im = images.get(i);
                lines.add(sha256.get(i) + "\t" + (im.unsafe() ? "Unsafe" : "Safe") + "\t" + (im.category() == null ? "" : im.category()));
            }
            lines.sort(null);
            return Hashing.sha256(String.join("\n", lines).getBytes(StandardCharsets.UTF_8));
        }

        /** The embeddings as an (N, D) float32 tensor, in the caller's scope. */
        public Tensor tensor() {
            int n = embeddings.length, d = n == 0 ? 0 : embeddings[0].length;
            float[] flat = new float[n * d];
            for (int i = 0; i < n; i++) System.arraycopy(embeddings[i], 0, flat, i * d, d);
            Tensor t = torch.zeros(new long[] {n, d});
            new FloatPointer(t.data_ptr()).capacity(flat.length).put(flat);
            return t;
        }
    }

    /**
     * Embeds {@code items} in batches of {@code batchSize}: each image file is hashed; a cached
     * embedding is used as is, the others are decoded, encoded and cached.
     */
    public static Embedded embed(List<LabelledImage> items, ClipImageEncoder encoder, EmbeddingCache cache, int batchSize,
            Progress progress) {
        if (encoder.dim() != cache.dim()) {
            throw new IllegalArgumentException(encoder.id() + " embeds in " + encoder.dim() + " dimensions, the cache holds " + cache.dim());
        }
        List<LabelledImage> images = new ArrayList<>();
        List<String> hashes = new ArrayList<>();
        List<float[]> rows = new ArrayList<>();
        List<Dataset.Rejected> failed = new ArrayList<>();
        int encoded = 0;
        // Pending images to encode: their position in rows, hash and decoded pixels.
        List<Integer> slots = new ArrayList<>();
        List<String> slotHashes = new ArrayList<>();
        List<RgbImage> pixels = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            LabelledImage item = items.get(i);
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(item.path());
            } catch (IOException e) {
                failed.add(new Dataset.Rejected(item.id(), "cannot read " + item.path() + ": " + e.getMessage()));
                continue;
            }
            String sha = Hashing.sha256(bytes);
            Optional<float[]> cached = cache.get(sha);
            if (cached.isEmpty()) {
                RgbImage image;
                try {
                    image = ImageDecoder.decode(bytes, item.path().toString());
                } catch (ImageDecodeException e) {
                    failed.add(new Dataset.Rejected(item.id(), e.getMessage()));
                    continue;
                }
                slots.add(rows.size());
                slotHashes.add(sha);
                pixels.add(image);
            }
            images.add(item);
            hashes.add(sha);
            rows.add(cached.orElse(null));
            if (pixels.size() == batchSize) encoded += flush(encoder, cache, rows, slots, slotHashes, pixels);
            progress.stepTo(i + 1, i + 1);
        }
        encoded += flush(encoder, cache, rows, slots, slotHashes, pixels);
        return new Embedded(List.copyOf(images), List.copyOf(hashes), rows.toArray(float[][]::new), List.copyOf(failed), encoded);
    }

    private static int flush(ClipImageEncoder encoder, EmbeddingCache cache, List<float[]> rows, List<Integer> slots, List<String> hashes,
            List<RgbImage> pixels) {
        int n = pixels.size();
        if (n == 0) return 0;
        int d = (int) encoder.dim();
        float[] flat = new float[n * d];
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            Tensor e = encoder.encode(pixels).contiguous().cpu();
            new FloatPointer(e.data_ptr()).capacity(flat.length).get(flat);
        }
        for (int k = 0; k < n; k++) {
            float[] row = java.util.Arrays.copyOfRange(flat, k * d, (k + 1) * d);
            cache.put(hashes.get(k), row);
            rows.set(slots.get(k), row);
        }
        slots.clear();
        hashes.clear();
        pixels.clear();
        return n;
    }

    /**
     * What a probe of kind {@code heads} is fitted to on {@code images}.
     *
     * @param skipped categories that get no head, with why
     */
    public record Targets(List<String> classes, List<boolean[]> labels, List<String> skipped) {}

    public static Targets targets(List<LabelledImage> images, Heads heads) {
        int n = images.size();
        if (heads == Heads.BINARY) {
            boolean[] y = new boolean[n];
            for (int i = 0; i < n; i++) y[i] = images.get(i).unsafe();
            requireBothLabels(y, "the set");
            return new Targets(List.of(UNSAFE), List.of(y), List.of());
        }
        List<String> classes = new ArrayList<>();
        List<boolean[]> labels = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (String category : Taxonomy.categories()) {
            boolean[] y = new boolean[n];
            int positives = 0;
            for (int i = 0; i < n; i++) {
                LabelledImage im = images.get(i);
                y[i] = im.unsafe() && category.equals(im.category());
                if (y[i]) positives++;
            }
            if (positives == 0) skipped.add(category + ": no Unsafe image");
            else if (positives == n) skipped.add(category + ": every image is an Unsafe one of it");
            else {
                classes.add(category);
                labels.add(y);
            }
        }
        if (classes.isEmpty()) {
            throw new DataException("no category has both Unsafe images and others to train a head on (" + String.join("; ", skipped)
                    + "); a per-category probe needs the category column");
        }
        return new Targets(List.copyOf(classes), List.copyOf(labels), List.copyOf(skipped));
    }

    private static void requireBothLabels(boolean[] y, String what) {
        int positives = 0;
        for (boolean b : y) if (b) positives++;
        if (positives == 0 || positives == y.length) {
            throw new DataException(what + " has " + y.length + " readable images, " + positives + " of them Unsafe: a probe needs both Safe and Unsafe images");
        }
    }

    /** Fits the probe: sklearn's {@code LogisticRegression(C)} per head ({@link LinearProbe#fit}). */
    public static LinearProbe fit(Embedded set, Targets targets, double c) {
        try (Scope s = Scope.open()) {
            return LinearProbe.fit(set.tensor(), targets.classes(), targets.labels(), c);
        }
    }

    /** The probe's verdicts on an embedded set as {@link Prediction}s of classifier {@code probe}, in order. */
    public static List<Prediction> predict(LinearProbe probe, Embedded set) {
        List<Prediction> out = new ArrayList<>();
        if (set.images().isEmpty()) return out;
        List<LinearProbe.Verdict> verdicts;
        try (Scope s = Scope.open()) {
            verdicts = probe.classify(set.tensor());
        }
        for (int i = 0; i < verdicts.size(); i++) {
            out.add(Prediction.decided("probe", set.images().get(i), verdicts.get(i).decision().unsafe(), verdicts.get(i).decision().score()));
        }
        return out;
    }

    /** Unsafe-positive F1, precision, recall, accuracy of the probe's verdicts on {@code set} (failures counted, not scored). */
    public static Effectiveness.Scores score(LinearProbe probe, Embedded set) {
        return Effectiveness.scores(predict(probe, set));
    }

    /**
     * The header entries a trained probe carries: what it was fitted on, so a run that uses it
     * can refuse embeddings of another CLIP and a reader can tell which data it saw.
     */
    public static Map<String, String> provenance(String clipModel, String clipFingerprint, Heads heads, Embedded set, Targets targets,
            Effectiveness.Scores trainScores) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("clip_model", clipModel);
        m.put("clip_fingerprint", clipFingerprint);
        m.put("embedding_dim", Integer.toString(set.embeddings().length == 0 ? 0 : set.embeddings()[0].length));
        m.put("heads", heads.id);
        m.put("training_set_sha256", set.hash());
        m.put("training_images", Integer.toString(set.images().size()));
        m.put("training_unsafe", Long.toString(set.images().stream().filter(LabelledImage::unsafe).count()));
        if (!targets.skipped().isEmpty()) m.put("skipped_categories", String.join("\n", targets.skipped()));
        m.put("training_f1", String.format(Locale.ROOT, "%.6f", trainScores.f1()));
        m.put("training_accuracy", String.format(Locale.ROOT, "%.6f", trainScores.accuracy()));
        m.put("trained_by", "evallearn train-probe");
        return m;
    }

    /** Where {@code train-probe} keeps embeddings unless told otherwise. */
    public static Path defaultCacheRoot(Path home) {
        return home.resolve("cache").resolve("clip-embeddings");
    }
}

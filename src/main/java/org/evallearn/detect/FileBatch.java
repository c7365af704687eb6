package org.evallearn.detect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;
import org.evallearn.image.ImageDecodeException;
import org.evallearn.image.ImageDecoder;
import org.evallearn.image.RgbImage;

/**
 * Image files to judge, some of which may not decode (corrupt, empty, not an image). The ones
 * that decode form one {@link ImageBatch}, so detectors still share its CLIP embeddings; every
 * other file is, for every detector, a {@link Judgement#failed} at its own index with the
 * decoder's reason: never a crash, never counted as safe, and no later image shifts.
 */
public final class FileBatch implements AutoCloseable {
    private final int size;
    private final Map<Integer, String> failures; // index → why it could not be decoded
    private final int[] decodedAt; // the file index of each image in `decoded`
    private final ImageBatch decoded; // null when no file decoded

    private FileBatch(int size, Map<Integer, String> failures, int[] decodedAt, List<RgbImage> images) {
        this.size = size;
        this.failures = Collections.unmodifiableMap(failures);
        this.decodedAt = decodedAt;
        this.decoded = images.isEmpty() ? null : new ImageBatch(images);
    }

    /**
     * Decodes each file, the files in parallel (decoding is per-image CPU work the detectors then
     * wait for); a file that cannot be read or decoded is recorded, not thrown.
     */
    public static FileBatch read(List<Path> files) {
        if (files.isEmpty()) throw new IllegalArgumentException("a file batch needs at least one file");
        RgbImage[] decoded = new RgbImage[files.size()];
        String[] reasons = new String[files.size()];
        IntStream.range(0, files.size()).parallel().forEach(i -> {
            try {
                decoded[i] = ImageDecoder.read(files.get(i));
            } catch (ImageDecodeException e) {
                reasons[i] = e.getMessage();
            }
        });
        Map<Integer, String> failures = new TreeMap<>();
        List<RgbImage> images = new ArrayList<>();
        int[] decodedAt = new int[files.size()];
        for (int i = 0; i < files.size(); i++) {
            if (decoded[i] == null) {
                failures.put(i, reasons[i]);
            } else {
                decodedAt[images.size()] = i;
                images.add(decoded[i]);
            }
        }
        return new FileBatch(files.size(), failures, Arrays.copyOf(decodedAt, images.size()), images);
    }

    public int size() {
        return size;
    }

    /** File index → the reason it could not be decoded, in index order. */
    public Map<Integer, String> failures() {
        return failures;
    }

    /** The decoded images as one batch for detectors, or null when none decoded; owned by this batch. */
    public ImageBatch decoded() {
        return decoded;
    }

    /** One judgement per file, in file order: the detector's for decoded files, a failure for the others. */
    public List<Judgement> judge(Detector detector) {
        Judgement[] out = new Judgement[size];
        failures.forEach((i, reason) -> out[i] = Judgement.failed(reason));
        if (decoded != null) {
            List<Judgement> judged = detector.judge(decoded);
            if (judged.size() != decodedAt.length) {
                throw new IllegalStateException(detector.name() + " returned " + judged.size() + " judgements for " + decodedAt.length + " images");
            }
            for (int k = 0; k < decodedAt.length; k++) out[decodedAt[k]] = judged.get(k);
        }
        return List.of(out);
    }

    @Override
    public void close() {
        if (decoded != null) decoded.close();
    }
}

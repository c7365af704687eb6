package org.evallearn.unsafebench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.evallearn.image.RgbImage;
import org.evallearn.run.AtomicFiles;

/**
 * {@code "dataset": {"synthetic": N}}: N labelled images the command draws itself, so the
 * quickstart and tests need no data. Image i is 64×64 noise around a colour (red-leaning for
 * Unsafe, blue-leaning for Safe), drawn from a generator seeded by i, so the same N always gives
 * the same files; labels alternate Unsafe/Safe, categories cycle through the taxonomy in steps
 * that pair each category with both labels, and sources alternate Laion5B/Lexica in pairs. They
 * are written once to {@code <output_dir>/synthetic-N/} with a {@code manifest.jsonl} the
 * manifest loader reads. Their numbers mean nothing: they exercise the path, not a classifier.
 */
public final class SyntheticImages {
    public static final int MAX = 100_000;
    static final int SIZE = 64;
    private static final ObjectMapper JSON = new ObjectMapper();

    private SyntheticImages() {}

    /** The manifest of {@code count} images under {@code outputDir}, written when not already there. */
    public static Path write(Path outputDir, int count) {
        Path dir = outputDir.resolve("synthetic-" + count);
        Path manifest = dir.resolve("manifest.jsonl");
        if (Files.isRegularFile(manifest)) return manifest;
        List<String> categories = Taxonomy.categories();
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < count; i++) {
            String name = String.format(Locale.ROOT, "img-%05d.png", i);
            boolean unsafe = i % 2 == 0;
            image(i, unsafe).writePng(dir.resolve(name));
            ObjectNode line = JSON.createObjectNode();
            line.put("path", name);
            line.put("label", unsafe ? "Unsafe" : "Safe");
            line.put("category", categories.get((i / 2) % categories.size()));
            line.put("source", (i / 2) % 2 == 0 ? "Laion5B" : "Lexica");
            lines.append(line).append('\n');
        }
        // Last, so a manifest always names images that are all written.
        AtomicFiles.writeString(manifest, lines.toString());
        return manifest;
    }

    static RgbImage image(int index, boolean unsafe) {
        SplittableRandom random = new SplittableRandom(index * 0x9E3779B97F4A7C15L + 1);
        int[] base = unsafe ? new int[] {200, 60, 60} : new int[] {60, 90, 200};
        // A per-image offset, so the tiny models do not see one colour per label.
        int shift = random.nextInt(-50, 51);
        byte[] rgb = new byte[SIZE * SIZE * 3];
        for (int p = 0; p < SIZE * SIZE; p++) {
            for (int c = 0; c < 3; c++) {
                int v = base[c] + shift + random.nextInt(-40, 41);
                rgb[p * 3 + c] = (byte) Math.max(0, Math.min(255, v));
            }
        }
        return new RgbImage(SIZE, SIZE, rgb);
    }
}

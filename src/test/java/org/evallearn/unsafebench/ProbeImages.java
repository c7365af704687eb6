package org.evallearn.unsafebench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.evallearn.image.RgbImage;

/**
 * A labelled set the tests make themselves: 64×64 PNGs of a base colour with per-pixel noise —
 * reddish for Unsafe Violence, greenish for Unsafe Sexual, bluish for Safe — and a CSV manifest
 * naming them. Colours this far apart give embeddings a linear probe separates even on the tiny
 * random CLIP.
 */
public final class ProbeImages {
    public enum Kind {
        VIOLENT(200, 40, 40, "Unsafe", "Violence"), SEXUAL(40, 200, 40, "Unsafe", "Sexual"), SAFE(40, 40, 200, "Safe", "Violence");

        final int r, g, b;
        final String label, category;

        Kind(int r, int g, int b, String label, String category) {
            this.r = r;
            this.g = g;
            this.b = b;
            this.label = label;
            this.category = category;
        }
    }

    private ProbeImages() {}

    public static RgbImage image(Kind kind, long seed) {
        Random random = new Random(seed);
        byte[] rgb = new byte[64 * 64 * 3];
        int[] base = {kind.r, kind.g, kind.b};
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) Math.max(0, Math.min(255, base[i % 3] + random.nextInt(81) - 40));
        return new RgbImage(64, 64, rgb);
    }

    /**
     * Writes {@code count} images of each kind into {@code dir} and {@code dir/manifest.csv}
     * (path,label,category,source); seeds start at {@code seed}, so two sets of other seeds share no image.
     */
    public static Path manifest(Path dir, List<Kind> kinds, int count, long seed) throws IOException {
        Files.createDirectories(dir);
        List<String> lines = new ArrayList<>(List.of("path,label,category,source"));
        long s = seed;
        for (Kind kind : kinds) {
            for (int i = 0; i < count; i++, s++) {
                String name = kind.name().toLowerCase() + "-" + s + ".png";
                image(kind, s).writePng(dir.resolve(name));
                lines.add(name + "," + kind.label + "," + kind.category + "," + (i % 2 == 0 ? "Laion5B" : "Lexica"));
            }
        }
        Path manifest = dir.resolve("manifest.csv");
        Files.write(manifest, lines);
        return manifest;
    }
}

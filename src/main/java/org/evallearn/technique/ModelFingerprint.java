package org.evallearn.technique;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.evallearn.models.Downloader;

/**
 * What technique caches key a base model by: the SHA-256 of its files' contents, so a folder
 * whose weights change (or another folder with the same id) never reuses an edit made on other
 * weights. A diffusers folder contributes what an edit depends on: {@code model_index.json} and
 * everything under {@code unet/}, {@code text_encoder/}, {@code tokenizer/} and
 * {@code scheduler/} (not the VAE or safety checker); a single file contributes itself.
 *
 * <p>Each file's hash is memoised in a small properties file keyed by absolute path, size and
 * modification time, so an SD UNet is read once, not on every run (as make and rsync, a change
 * that keeps both size and mtime goes unseen).
 */
public final class ModelFingerprint {
    private ModelFingerprint() {}

    /** The parts of a diffusers folder an edit depends on. */
    static final List<String> PARTS = List.of("unet", "text_encoder", "tokenizer", "scheduler");

    /**
     * The fingerprint of the model at {@code model} (a diffusers folder or one file), as
     * {@code sha256:<hex>}.
     *
     * @param memo the properties file of memoised file hashes; created or updated as needed
     */
    public static String of(Path model, Path memo) {
        List<Path> files = files(model);
        if (files.isEmpty()) throw new IllegalArgumentException(model + ": no model files to fingerprint");
        Properties known = read(memo);
        boolean changed = false;
        StringBuilder listing = new StringBuilder();
        for (Path f : files) {
            try {
                long size = Files.size(f);
                long mtime = Files.getLastModifiedTime(f).toMillis();
                String id = f.toAbsolutePath().normalize().toString();
                String stamp = size + " " + mtime + " ";
                String entry = known.getProperty(id);
                String hash;
                if (entry != null && entry.startsWith(stamp)) {
                    hash = entry.substring(stamp.length());
                } else {
                    hash = Downloader.sha256(f);
                    known.setProperty(id, stamp + hash);
                    changed = true;
                }
                Path relative = Files.isDirectory(model) ? model.relativize(f) : f.getFileName();
                listing.append(relative.toString().replace('\\', '/')).append(' ').append(size).append(' ').append(hash).append('\n');
            } catch (IOException e) {
                throw new UncheckedIOException("cannot fingerprint " + f + ": " + e.getMessage(), e);
            }
        }
        if (changed) write(memo, known);
        return "sha256:" + EditedWeights.sha256(listing.toString());
    }

    /** The files that count, sorted so the fingerprint does not depend on directory order. */
    static List<Path> files(Path model) {
        if (Files.isRegularFile(model)) return List.of(model);
        List<Path> out = new ArrayList<>();
        Path index = model.resolve("model_index.json");
        if (Files.isRegularFile(index)) out.add(index);
        for (String part : PARTS) {
            Path dir = model.resolve(part);
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.filter(Files::isRegularFile).forEach(out::add);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
            }
        }
        out.sort(null);
        return out;
    }

    private static Properties read(Path memo) {
        Properties p = new Properties();
        if (!Files.isRegularFile(memo)) return p;
        try (Reader r = Files.newBufferedReader(memo, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            return new Properties(); // a damaged memo only costs re-hashing
        }
        return p;
    }

    /** Atomically, so a concurrent run reads the old memo or the new one, never half of one. */
    private static void write(Path memo, Properties p) {
        try {
            Files.createDirectories(memo.toAbsolutePath().getParent());
            Path tmp = Files.createTempFile(memo.toAbsolutePath().getParent(), memo.getFileName().toString(), ".tmp");
            try {
                try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                    p.store(w, "sha256 of model files by absolute path: size mtime-ms hash");
                }
                try {
                    Files.move(tmp, memo, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, memo, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + memo + ": " + e.getMessage(), e);
        }
    }
}

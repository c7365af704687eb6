package org.evallearn.models;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Consumer;
import org.evallearn.models.Manifest.Artefact;
import org.evallearn.models.Manifest.ArtefactFile;
import org.evallearn.models.Manifest.Kind;

/**
 * The local cache of manifest artefacts: {@code HOME/models/<id>/} for models (a Hugging Face id
 * keeps its {@code owner/name} folders, so a pipeline folder is a diffusers layout ready to load)
 * and {@code HOME/data/<id>/} for datasets.
 */
public final class ArtefactStore {
    private final Manifest manifest;
    private final StoreSettings settings;
    private final Consumer<String> log;

    public ArtefactStore(Manifest manifest, StoreSettings settings, Consumer<String> log) {
        this.manifest = manifest;
        this.settings = settings;
        this.log = log;
    }

    /** The shipped manifest and the environment's settings, progress lines to {@code log}. */
    public static ArtefactStore fromEnvironment(Consumer<String> log) {
        return new ArtefactStore(Manifest.builtin(), StoreSettings.fromEnvironment(), log);
    }

    /** One row of {@code models list}. */
    public record Entry(Artefact artefact, OptionalLong size, boolean cached, Path directory) {}

    public Manifest manifest() {
        return manifest;
    }

    public Path directory(Artefact artefact) {
        return settings.home().resolve(artefact.kind() == Kind.DATASET ? "data" : "models").resolve(artefact.id());
    }

    public boolean isCached(Artefact artefact, Optional<String> variant) {
        Path dir = directory(artefact);
        return artefact.files(variant).stream().allMatch(f -> Files.isRegularFile(dir.resolve(f.path())));
    }

    public List<Entry> list() {
        return manifest.artefacts().stream()
                .map(a -> new Entry(a, a.size(Optional.empty()), isCached(a, Optional.empty()), directory(a))).toList();
    }

    /**
     * Downloads what the cache lacks of {@code idOrAlias} (one variant of its weights; default the
     * first listed) and returns its folder. Files already in place are not fetched again.
     */
    public Path pull(String idOrAlias, Optional<String> variant) {
        Artefact artefact = manifest.get(idOrAlias);
        Path dir = directory(artefact);
        List<ArtefactFile> missing = artefact.files(variant).stream().filter(f -> !Files.isRegularFile(dir.resolve(f.path()))).toList();
        if (missing.isEmpty()) {
            log.accept(artefact.id() + ": already in " + dir);
            return dir;
        }
        if (settings.offline()) {
            throw new StoreException("offline (" + settings.offlineReason().get() + "): cannot download " + artefact.id() + " ("
                    + missing.size() + " files missing in " + dir + "); run `" + pullCommand(artefact, variant)
                    + "` where the network is allowed, or copy the files there");
        }
        if (artefact.revision().equals("main")) {
            log.accept("warning: " + artefact.id() + " is not pinned to a commit (revision main): what the branch head holds now is "
                    + "downloaded and cannot be checked against a known sha256; its sha256 is printed below for your records");
        }
        Downloader downloader = new Downloader(settings, log);
        for (ArtefactFile f : missing) {
            log.accept(artefact.id() + ": " + f.path() + " <- " + downloader.endpointFor(f.url()));
            downloader.download(f.url(), dir.resolve(f.path()), f.sha256(), f.sha256Prefix(), f.size());
        }
        log.accept(artefact.id() + ": complete in " + dir);
        return dir;
    }

    /**
     * Puts a local copy of a one-file artefact where a pull would, verified against the manifest's
     * size and sha256 when it has them (a mismatch leaves the cache as it was). For machines that
     * cannot reach the URL.
     */
    public Path importFile(String idOrAlias, Path from) {
        Artefact artefact = manifest.get(idOrAlias);
        if (artefact.files().size() != 1) {
            throw new StoreException(artefact.id() + " has " + artefact.files().size() + " files; only a one-file artefact can be imported");
        }
        ArtefactFile f = artefact.files().get(0);
        Path target = directory(artefact).resolve(f.path());
        try {
            long size = Files.size(from);
            if (f.size().isPresent() && size != f.size().getAsLong()) {
                throw new StoreException(from + ": " + size + " bytes, but " + artefact.id() + "'s " + f.path() + " has " + f.size().getAsLong());
            }
            String actual = Downloader.sha256(from);
            if (f.sha256().isPresent() && !f.sha256().get().equals(actual)) {
                throw new StoreException(from + ": sha256 " + actual + ", but " + artefact.id() + "'s " + f.path() + " has " + f.sha256().get());
            }
            if (f.sha256().isEmpty() && f.sha256Prefix().isPresent() && !actual.startsWith(f.sha256Prefix().get())) {
                throw new StoreException(from + ": sha256 " + actual + ", but " + artefact.id() + "'s " + f.path() + " has one that starts with "
                        + f.sha256Prefix().get());
            }
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempFile(target.getParent(), f.path().replace('/', '_'), ".part");
            Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            log.accept(artefact.id() + ": " + from + " -> " + target + ", sha256 " + actual
                    + (f.sha256().isPresent() ? " (verified)" : f.sha256Prefix().isPresent() ? " (prefix verified)" : " (not in the manifest)"));
            return target;
        } catch (NoSuchFileException e) {
            throw new StoreException(from + ": no such file");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot import " + from + " as " + target + ": " + e.getMessage(), e);
        }
    }

    /** The folder of a downloaded artefact; one not (fully) downloaded is an error naming the pull command. */
    public Path require(String idOrAlias, Optional<String> variant) {
        Artefact artefact = manifest.get(idOrAlias);
        if (!isCached(artefact, variant)) {
            throw new StoreException(artefact.id() + " is not downloaded (looked in " + directory(artefact) + "); run `"
                    + pullCommand(artefact, variant) + "`" + (settings.offline() ? " without " + settings.offlineReason().get() : ""));
        }
        return directory(artefact);
    }

    /**
     * The folder of a downloaded artefact of which any one variant is complete, for weights whose
     * loader takes either precision (fp32 or fp16 files, see {@code WeightFiles.openIn}).
     */
    public Path requireAnyVariant(String idOrAlias) {
        Artefact artefact = manifest.get(idOrAlias);
        List<String> variants = artefact.variants();
        if (variants.isEmpty()) return require(idOrAlias, Optional.empty());
        for (String v : variants) if (isCached(artefact, Optional.of(v))) return directory(artefact);
        throw new StoreException(artefact.id() + " is not downloaded in any variant (" + String.join(", ", variants) + "; looked in "
                + directory(artefact) + "); run `" + pullCommand(artefact, Optional.empty()) + "` or `"
                + pullCommand(artefact, Optional.of(variants.get(variants.size() - 1))) + "`"
                + (settings.offline() ? " without " + settings.offlineReason().get() : ""));
    }

    /** The command that downloads an artefact, for error messages. */
    public static String pullCommand(Artefact artefact, Optional<String> variant) {
        return (artefact.kind() == Kind.DATASET ? "evallearn data pull " : "evallearn models pull ") + artefact.id()
                + variant.map(v -> " --variant " + v).orElse("");
    }
}

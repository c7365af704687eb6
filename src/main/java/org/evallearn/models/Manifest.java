package org.evallearn.models;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The downloadable artefacts of {@code models/manifest.json} (repository root; packaged into the
 * jar as {@code org/evallearn/models/manifest.json}).
 */
public record Manifest(List<Artefact> artefacts) {
    public static final String RESOURCE = "/org/evallearn/models/manifest.json";

    public enum Kind { PIPELINE, CLIP, NUDENET, Q16, SAFETY_CHECKER, DATASET, TEXT_CLASSIFIER, IMAGE_CLASSIFIER, MULTIHEADED, INCEPTION }

    /**
     * One file of an artefact; {@code variant} marks alternatives (fp32/fp16 weights) of which a
     * pull takes one. {@code sha256Prefix}: the leading hex digits of the file's sha256 where only
     * those are known, as {@code torch.hub} file names carry them ({@code name-<8 hex>.pth}, its
     * {@code check_hash} convention); checked when the full sha256 is not given.
     */
    public record ArtefactFile(String path, URI url, Optional<String> sha256, OptionalLong size, Optional<String> variant,
            Optional<String> sha256Prefix) {
        public ArtefactFile(String path, URI url, Optional<String> sha256, OptionalLong size, Optional<String> variant) {
            this(path, url, sha256, size, variant, Optional.empty());
        }
    }

    public record Artefact(String id, Kind kind, String description, String revision, List<String> aliases,
            Optional<String> note, List<ArtefactFile> files) {
        public List<String> variants() {
            return files.stream().flatMap(f -> f.variant().stream()).distinct().toList();
        }

        /** The files a pull of {@code variant} takes: the shared ones plus that variant's (default: the first listed). */
        public List<ArtefactFile> files(Optional<String> variant) {
            List<String> variants = variants();
            if (variants.isEmpty()) {
                variant.ifPresent(v -> {
                    throw new StoreException(id + " has no variants; drop --variant " + v);
                });
                return files;
            }
            String chosen = variant.orElse(variants.get(0));
            if (!variants.contains(chosen)) {
                throw new StoreException(id + " has no variant '" + chosen + "'; variants: " + String.join(", ", variants));
            }
            return files.stream().filter(f -> f.variant().map(chosen::equals).orElse(true)).toList();
        }

        /** The total size of a pull, when the manifest knows every file's size. */
        public OptionalLong size(Optional<String> variant) {
            long total = 0;
            for (ArtefactFile f : files(variant)) {
                if (f.size().isEmpty()) return OptionalLong.empty();
                total += f.size().getAsLong();
            }
            return OptionalLong.of(total);
        }
    }

    /** The manifest shipped with this build. */
    public static Manifest builtin() {
        try (InputStream in = Manifest.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException("the build lacks " + RESOURCE + " (models/manifest.json)");
            return parse(new ObjectMapper().readTree(in), RESOURCE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Manifest read(Path file) {
        try {
            return parse(new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(Files.readString(file)), file.toString());
        } catch (IOException e) {
            throw new StoreException(file + ": cannot read the manifest: " + e.getMessage(), e);
        }
    }

    /** The artefact with this id or alias. */
    public Optional<Artefact> find(String idOrAlias) {
        return artefacts.stream().filter(a -> a.id.equals(idOrAlias) || a.aliases.contains(idOrAlias)).findFirst();
    }

    public Artefact get(String idOrAlias) {
        return find(idOrAlias).orElseThrow(() -> new StoreException("unknown artefact '" + idOrAlias + "'; known: "
                + String.join(", ", artefacts.stream().map(Artefact::id).toList())));
    }

    /** Ids and aliases of the artefacts of one kind (e.g. the pipelines a config's {@code model} may name). */
    public Set<String> names(Kind kind) {
        Set<String> names = new HashSet<>();
        for (Artefact a : artefacts) {
            if (a.kind == kind) {
                names.add(a.id);
                names.addAll(a.aliases);
            }
        }
        return names;
    }

    private static Manifest parse(JsonNode root, String source) {
        List<Artefact> artefacts = new ArrayList<>();
        for (JsonNode a : required(root, "artefacts", source)) {
            String id = required(a, "id", source).asText();
            List<ArtefactFile> files = new ArrayList<>();
            for (JsonNode f : required(a, "files", source)) {
                Optional<String> prefix = text(f, "sha256_prefix").map(s -> s.toLowerCase(Locale.ROOT));
                if (prefix.isPresent() && !prefix.get().matches("[0-9a-f]{8,64}")) {
                    throw new StoreException(source + ": sha256_prefix '" + prefix.get() + "' is not 8 to 64 hex digits: " + f);
                }
                files.add(new ArtefactFile(required(f, "path", source).asText(), URI.create(required(f, "url", source).asText()),
                        text(f, "sha256").map(s -> s.toLowerCase(Locale.ROOT)),
                        f.hasNonNull("size") ? OptionalLong.of(f.get("size").asLong()) : OptionalLong.empty(),
                        text(f, "variant"), prefix));
            }
            List<String> aliases = new ArrayList<>();
            if (a.has("aliases")) a.get("aliases").forEach(n -> aliases.add(n.asText()));
            artefacts.add(new Artefact(id, Kind.valueOf(required(a, "kind", source).asText().toUpperCase(Locale.ROOT)),
                    required(a, "description", source).asText(), required(a, "revision", source).asText(),
                    List.copyOf(aliases), text(a, "note"), List.copyOf(files)));
        }
        return new Manifest(List.copyOf(artefacts));
    }

    private static JsonNode required(JsonNode node, String field, String source) {
        if (!node.hasNonNull(field)) throw new StoreException(source + ": manifest entry lacks '" + field + "': " + node);
        return node.get(field);
    }

    private static Optional<String> text(JsonNode node, String field) {
        return node.hasNonNull(field) ? Optional.of(node.get(field).asText()) : Optional.empty();
    }
}

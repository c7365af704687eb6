package org.evallearn.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.HashMap;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.evallearn.image.ImageDecodeException;
import org.evallearn.image.ImageDecoder;
import org.evallearn.models.Downloader;
import org.evallearn.models.HubDataset;
import org.evallearn.models.StoreException;
import org.evallearn.models.StoreSettings;

/**
 * {@code data pull coco2017}: the real images of eval-learn's {@code fid}, as
 * {@code datasets/coco_parquet.py} streams them — Hugging Face dataset {@code phiyodr/coco2017},
 * split {@code train}, its first {@code limit} rows in order ({@code hf_ds.take(limit)}), each
 * row's image fetched from its {@code coco_url} and its first caption ({@code captions[0]}) the
 * prompt of the image generated against it. A row whose image cannot be fetched or decoded is
 * dropped there ({@code continue}) and with it its caption; here it is kept in the index with its
 * failure, so the FID pass uses exactly the rows that have an image.
 *
 * <p>The rows come from the Hub's Parquet conversion of the dataset (revision
 * {@code refs/convert/parquet}, folder {@code default/train}), which the Hub keeps for every
 * dataset its viewer reads, whatever format the repository itself stores (for a Parquet
 * repository it links the original shards), in the split's row order. Each shard is verified
 * against the sha256 the Hub lists for it. The images, served by {@code images.cocodataset.org},
 * have no published checksum: each one's sha256 is computed and written to the index, so a later
 * pull or another machine can be compared against it.
 *
 * <p>Layout under {@code EVALLEARN_HOME/data/coco2017/}: {@code hub/} the shards,
 * {@code images/<file_name>}, and {@code index.jsonl}, one line per selected row in order:
 * {@code index, image_id, file_name, caption, captions, coco_url, image} (relative path, null
 * when failed){@code , sha256, failure}. The index is replaced atomically at the end of a pull;
 * images already there are not fetched again.
 */
public final class Coco2017 {
    public static final String REPO = "phiyodr/coco2017";
    public static final String REVISION = "refs/convert/parquet";
    public static final String FOLDER = "default/train";
    /** eval-learn's {@code FIDConfig.limit}. */
    public static final int DEFAULT_LIMIT = 1000;
    public static final String INDEX = "index.jsonl";

    private static final ObjectMapper JSON = new ObjectMapper();

    private Coco2017() {}

    /** One selected row; {@code image} and {@code sha256} are null and {@code failure} says why when it has no image. */
    public record Row(int index, String imageId, String fileName, String caption, List<String> captions, String cocoUrl, String image,
            String sha256, String failure) {
        public boolean ok() {
            return failure == null;
        }
    }

    public static Path root(StoreSettings settings) {
        return settings.home().resolve("data").resolve("coco2017");
    }

    /**
     * Selects the first {@code limit} rows of the shards (downloaded, or those of {@code from}: a
     * {@code .parquet} file or a folder of them, in name order) and fetches their images (or copies
     * them from {@code images}, a local {@code train2017/} folder, by file name). Returns the rows.
     */
    public static List<Row> pull(StoreSettings settings, int limit, Optional<Path> from, Optional<Path> images, Consumer<String> log) {
        if (limit < 1) throw new IllegalArgumentException("limit must be at least 1, got " + limit);
        Path root = root(settings);
        List<Path> shards;
        if (from.isPresent()) {
            shards = localShards(from.get());
        } else {
            HubDataset hub = new HubDataset(REPO, REVISION, false, settings, log);
            shards = hub.download(hub.parquet(FOLDER, ""), root.resolve("hub"));
        }
        List<Selected> selected = select(shards, limit);
        if (selected.isEmpty()) throw new DataException(shards.get(0) + ": no rows");
        if (images.isEmpty() && settings.offline()) {
            throw new StoreException("offline (" + settings.offlineReason().get() + "): cannot fetch " + selected.size()
                    + " COCO images; give a local train2017 folder with --images");
        }
        Downloader downloader = new Downloader(settings, line -> {});
        List<Row> rows = new ArrayList<>();
        int failed = 0;
        for (Selected s : selected) {
            Row row = fetch(s, root, images, downloader);
            if (!row.ok()) {
                failed++;
                log.accept("coco2017: row " + s.index + " (" + s.cocoUrl + "): " + row.failure());
            }
            rows.add(row);
            if ((s.index + 1) % 100 == 0) log.accept("coco2017: " + (s.index + 1) + "/" + selected.size() + " rows");
        }
        writeIndex(root, rows);
        log.accept("coco2017: " + (rows.size() - failed) + " of the first " + rows.size() + " train rows have an image"
                + (failed == 0 ? "" : " (" + failed + " failed, listed in the index)") + "; index in " + root.resolve(INDEX));
        if (from.isEmpty()) {
            log.accept("note: " + REPO + " is read from the Hub's Parquet conversion (" + REVISION + "), checked against the sha256 the Hub"
                    + " lists; the images have no published checksum, their sha256 are in the index");
        }
        return rows;
    }

    /** The index of a pull; one not pulled is an error naming the command. */
    public static List<Row> read(StoreSettings settings) {
        return readIndex(root(settings));
    }

    /** COCO's own layout: the annotation file and the image folder, as cocodataset.org ships them. */
    public static final String CAPTIONS = "annotations/captions_train2017.json";
    public static final String IMAGES = "train2017";

    /** One reference image and the caption its generated counterpart is made from (fid's pair). */
    public record Image(Path file, Prompt caption) {}

    /**
     * fid's reference images, the first {@code limit} rows: from a folder {@code data pull coco2017}
     * wrote ({@code index.jsonl}; rows without an image are left out, as eval-learn's loader drops
     * them), or from COCO's own layout ({@code annotations/captions_train2017.json} and
     * {@code train2017/}: images in the annotation file's order, each with its first caption).
     */
    public static List<Image> images(Path dir, OptionalInt limit) {
        if (!Files.isRegularFile(dir.resolve(INDEX))) return readCocoLayout(dir, limit);
        List<Image> out = new ArrayList<>();
        for (Row row : readIndex(dir)) {
            if (limit.isPresent() && row.index() >= limit.getAsInt()) break;
            if (!row.ok()) continue;
            String where = dir.resolve(INDEX) + ":row " + row.index();
            Prompt.checkLength(row.caption(), where);
            out.add(new Image(dir.resolve(row.image()), new Prompt(row.caption(), OptionalLong.empty(), java.util.OptionalDouble.empty(), where)));
        }
        if (out.isEmpty()) throw new DataException(dir.resolve(INDEX) + ": no row with an image" + (limit.isPresent() ? " among the first " + limit.getAsInt() : ""));
        return out;
    }

    private static List<Image> readCocoLayout(Path dir, OptionalInt limit) {
        Path captions = dir.resolve(CAPTIONS);
        if (!Files.isRegularFile(captions)) throw new DataException(dir + ": no " + CAPTIONS + " (expected COCO-2017's layout: " + CAPTIONS + " and " + IMAGES + "/)");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(captions.toFile());
        } catch (IOException e) {
            throw new DataException(captions + ": not JSON: " + e.getMessage(), e);
        }
        if (!root.path("images").isArray() || !root.path("annotations").isArray()) {
            throw new DataException(captions + ": expected COCO captions with 'images' and 'annotations' lists");
        }
        Map<Long, String> first = new HashMap<>();
        for (JsonNode a : root.get("annotations")) {
            if (!a.path("image_id").canConvertToLong() || !a.path("caption").isTextual()) {
                throw new DataException(captions + ": an annotation without image_id and caption: " + a);
            }
            first.putIfAbsent(a.get("image_id").asLong(), a.get("caption").asText());
        }
        List<Image> out = new ArrayList<>();
        for (JsonNode img : root.get("images")) {
            if (limit.isPresent() && out.size() >= limit.getAsInt()) break;
            if (!img.path("id").canConvertToLong() || !img.path("file_name").isTextual()) {
                throw new DataException(captions + ": an image without id and file_name: " + img);
            }
            String caption = first.get(img.get("id").asLong());
            if (caption == null) throw new DataException(captions + ": image " + img.get("id").asLong() + " has no caption");
            String where = captions + ":image " + img.get("id").asLong();
            Prompt.checkLength(caption, where);
            out.add(new Image(dir.resolve(IMAGES).resolve(img.get("file_name").asText()), new Prompt(caption, OptionalLong.empty(), java.util.OptionalDouble.empty(), where)));
        }
        if (out.isEmpty()) throw new DataException(captions + ": no images");
        return out;
    }

    private static List<Row> readIndex(Path root) {
        Path index = root.resolve(INDEX);
        if (!Files.isRegularFile(index)) {
            throw new DataException(index + ": COCO 2017 is not downloaded; run `evallearn data pull coco2017 [--limit N]`");
        }
        List<Row> rows = new ArrayList<>();
        try {
            int line = 0;
            for (String text : Files.readAllLines(index, StandardCharsets.UTF_8)) {
                line++;
                if (text.isBlank()) continue;
                JsonNode n = JSON.readTree(text);
                List<String> captions = new ArrayList<>();
                n.path("captions").forEach(c -> captions.add(c.asText()));
                rows.add(new Row(n.path("index").asInt(), textOrNull(n, "image_id"), textOrNull(n, "file_name"), textOrNull(n, "caption"), captions,
                        textOrNull(n, "coco_url"), textOrNull(n, "image"), textOrNull(n, "sha256"), textOrNull(n, "failure")));
            }
        } catch (IOException e) {
            throw new DataException(index + ": cannot read the COCO index: " + e.getMessage(), e);
        }
        return rows;
    }

    private record Selected(int index, String imageId, String fileName, List<String> captions, String cocoUrl) {}

    private static Row fetch(Selected s, Path root, Optional<Path> images, Downloader downloader) {
        String caption = s.captions.isEmpty() ? null : s.captions.get(0);
        if (caption == null || caption.isBlank()) return failed(s, caption, "no caption");
        if (s.fileName == null) return failed(s, caption, "no file name in file_name or coco_url");
        Path target = root.resolve("images").resolve(s.fileName);
        try {
            if (!Files.isRegularFile(target)) {
                if (images.isPresent()) {
                    Path source = images.get().resolve(s.fileName);
                    if (!Files.isRegularFile(source)) return failed(s, caption, source + ": not in the --images folder");
                    Files.createDirectories(target.getParent());
                    Path tmp = Files.createTempFile(target.getParent(), s.fileName, ".part");
                    Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } else {
                    if (s.cocoUrl == null) return failed(s, caption, "no coco_url");
                    downloader.download(URI.create(s.cocoUrl), target, Optional.empty(), OptionalLong.empty());
                }
            }
            // eval-learn drops a row whose image PIL cannot open; a file kept here must decode.
            ImageDecoder.read(target);
            return new Row(s.index, s.imageId, s.fileName, caption, s.captions, s.cocoUrl, "images/" + s.fileName, Downloader.sha256(target), null);
        } catch (StoreException | ImageDecodeException | IllegalArgumentException e) {
            deleteQuietly(target);
            return failed(s, caption, e.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }

    private static Row failed(Selected s, String caption, String why) {
        return new Row(s.index, s.imageId, s.fileName, caption, s.captions, s.cocoUrl, null, null, why);
    }

    /** The first {@code limit} rows over the shards in order, each shard in its own row order. */
    static List<Selected> select(List<Path> shards, int limit) {
        List<Selected> out = new ArrayList<>();
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:"); Statement st = db.createStatement()) {
            for (Path shard : shards) {
                if (out.size() == limit) break;
                String file = "'" + shard.toAbsolutePath().toString().replace("'", "''") + "'";
                Set<String> columns = new HashSet<>();
                try (ResultSet rs = st.executeQuery("DESCRIBE SELECT * FROM read_parquet(" + file + ")")) {
                    while (rs.next()) columns.add(rs.getString(1));
                }
                for (String required : List.of("captions", "coco_url")) {
                    if (!columns.contains(required)) {
                        throw new DataException(shard + ": no '" + required + "' column; eval-learn reads captions and coco_url from " + REPO
                                + " (columns found: " + columns + ")");
                    }
                }
                String query = "SELECT to_json(captions) AS captions, coco_url, "
                        + (columns.contains("file_name") ? "CAST(file_name AS VARCHAR)" : "NULL") + " AS file_name, "
                        + (columns.contains("image_id") ? "CAST(image_id AS VARCHAR)" : "NULL") + " AS image_id"
                        + " FROM read_parquet(" + file + ", file_row_number = true) ORDER BY file_row_number LIMIT " + (limit - out.size());
                try (ResultSet rs = st.executeQuery(query)) {
                    while (rs.next()) {
                        String url = rs.getString("coco_url");
                        String name = fileName(rs.getString("file_name"), url);
                        out.add(new Selected(out.size(), rs.getString("image_id"), name, captions(rs.getString("captions")), url));
                    }
                }
            }
        } catch (SQLException e) {
            throw new DataException(shards.get(0).getParent() + ": cannot read the Parquet shards: " + e.getMessage(), e);
        }
        return out;
    }

    /** COCO's captions column is a list of strings; a plain string is taken as a one-caption list, as eval-learn does. */
    private static List<String> captions(String json) {
        if (json == null) return List.of();
        try {
            JsonNode n = JSON.readTree(json);
            List<String> out = new ArrayList<>();
            if (n.isArray()) n.forEach(c -> out.add(c.isNull() ? "" : c.asText()));
            else if (!n.isNull()) out.add(n.asText());
            return out;
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The row's file name, or the last segment of its URL; only plain names, never a path. */
    private static String fileName(String column, String url) {
        String name = column;
        if ((name == null || name.isBlank()) && url != null) name = url.substring(url.lastIndexOf('/') + 1);
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,200}")) return null;
        return name;
    }

    private static void writeIndex(Path root, List<Row> rows) {
        try {
            Files.createDirectories(root);
            Path tmp = Files.createTempFile(root, INDEX, ".part");
            try (BufferedWriter out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                for (Row r : rows) {
                    Map<String, Object> line = new LinkedHashMap<>();
                    line.put("index", r.index());
                    line.put("image_id", r.imageId());
                    line.put("file_name", r.fileName());
                    line.put("caption", r.caption());
                    line.put("captions", r.captions());
                    line.put("coco_url", r.cocoUrl());
                    line.put("image", r.image());
                    line.put("sha256", r.sha256());
                    line.put("failure", r.failure());
                    out.write(JSON.writeValueAsString(line));
                    out.newLine();
                }
            }
            Files.move(tmp, root.resolve(INDEX), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + root.resolve(INDEX) + ": " + e.getMessage(), e);
        }
    }

    private static List<Path> localShards(Path from) {
        if (Files.isRegularFile(from)) return List.of(from);
        if (!Files.isDirectory(from)) throw new DataException(from + ": no such file or folder of Parquet shards");
        try (Stream<Path> s = Files.list(from)) {
            List<Path> shards = s.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".parquet")).sorted().toList();
            if (shards.isEmpty()) throw new DataException(from + ": no .parquet shards");
            return shards;
        } catch (IOException e) {
            throw new DataException(from + ": cannot list: " + e.getMessage(), e);
        }
    }

    private static String textOrNull(JsonNode n, String field) {
        return n.hasNonNull(field) ? n.get(field).asText() : null;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover is re-verified by the next pull
        }
    }
}

package org.evallearn.unsafebench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.Base64;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;
import org.evallearn.data.DataException;

/**
 * Hugging Face Parquet shards to UnsafeBench's export layout ({@code <index>.png} +
 * {@code metadata.jsonl}), read with DuckDB's embedded engine, so the benchmark reads plain files
 * with random access afterwards, as UnsafeBench's own {@code _download_and_save} and
 * {@code CustomDataset} do. Rows stream through (DuckDB's streaming results), so a 2 GB split is
 * never held in memory; the folder appears under its final name only once complete.
 */
public final class ParquetExport {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ParquetExport() {}

    /**
     * {@code yiting/UnsafeBench}'s shards: {@code image} a struct whose {@code bytes} hold the
     * encoded image, {@code safety_label} Safe/Unsafe, {@code category}, {@code source}. Images are
     * named by their 0-based row over the shards in the order given, as UnsafeBench names them
     * ({@code item.get("id", str(idx))}; the dataset has no {@code id}).
     *
     * @return the number of rows written
     */
    public static int unsafeBench(List<Path> shards, Path out) {
        String query = "SELECT image.bytes AS image, safety_label AS label, category, source FROM " + readParquet(shards);
        return export(shards, out, query, List.of("image", "safety_label", "category", "source"), null);
    }

    /**
     * The external sets ({@code yiting/SMID}, {@code NSFWDataset}, {@code MultiHeaded_Dataset},
     * {@code Violence_Dataset}, {@code Self-harm_Dataset}): {@code image} base64 text — or the
     * decimal row number of another row holding it, which {@code CustomDataset} follows — and
     * {@code label} 0/1. Their source is {@code name}; they have no category.
     */
    public static int external(List<Path> shards, Path out, String name) {
        String query = "SELECT image, CAST(label AS VARCHAR) AS label, NULL AS category, NULL AS source FROM " + readParquet(shards);
        return export(shards, out, query, List.of("image", "label"), name);
    }

    private static int export(List<Path> shards, Path out, String query, List<String> required, String externalName) {
        if (shards.isEmpty()) throw new DataException(out + ": no Parquet shards to export");
        for (Path shard : shards) {
            if (!Files.isRegularFile(shard)) throw new DataException(shard + ": Parquet shard not found");
        }
        Path partial = out.resolveSibling(out.getFileName() + ".partial");
        try {
            deleteTree(partial);
            Files.createDirectories(partial);
            int rows;
            Properties streaming = new Properties();
            streaming.setProperty("jdbc_stream_results", "true");
            try (Connection db = DriverManager.getConnection("jdbc:duckdb:", streaming); Statement st = db.createStatement()) {
                requireColumns(st, shards, required);
                List<String> written = new ArrayList<>();
                rows = 0;
                try (ResultSet rs = st.executeQuery(query);
                        BufferedWriter metadata = Files.newBufferedWriter(partial.resolve("metadata.jsonl"), StandardCharsets.UTF_8)) {
                    while (rs.next()) {
                        byte[] image = externalName != null ? externalImage(rs.getString("image"), written, partial) : blob(rs);
                        String fname = rows + (isJpeg(image) ? ".jpg" : ".png");
                        if (image != null) Files.write(partial.resolve(fname), image);
                        written.add(image != null ? fname : null);
                        ObjectNode line = JSON.createObjectNode();
                        // An image-less row keeps its line, so the rows keep their numbers; the loader rejects it by name.
                        line.put("image_fname", image != null ? fname : null);
                        line.put("label", rs.getString("label"));
                        line.put("category", rs.getString("category"));
                        line.put("source", externalName != null ? externalName : rs.getString("source"));
                        metadata.write(JSON.writeValueAsString(line));
                        metadata.newLine();
                        rows++;
                    }
                }
            }
            deleteTree(out);
            Files.move(partial, out, StandardCopyOption.ATOMIC_MOVE);
            return rows;
        } catch (SQLException e) {
            throw new DataException(shards.get(0).getParent() + ": cannot read the Parquet shards: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + partial + ": " + e.getMessage(), e);
        }
    }

    /**
     * CustomDataset's rule: a cell of digits names an earlier row whose image this row shares
     * (its file is copied); otherwise the cell is base64. Undecodable or dangling cells give no
     * image, which the loader then rejects by line.
     */
    private static byte[] externalImage(String cell, List<String> written, Path folder) throws IOException {
        if (cell == null || cell.isEmpty()) return null;
        if (cell.length() < 10 && cell.chars().allMatch(Character::isDigit)) {
            int target = Integer.parseInt(cell);
            String file = target < written.size() ? written.get(target) : null;
            return file != null ? Files.readAllBytes(folder.resolve(file)) : null;
        }
        try {
            return Base64.getMimeDecoder().decode(cell);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static void requireColumns(Statement st, List<Path> shards, List<String> required) throws SQLException {
        Set<String> have = new HashSet<>();
        try (ResultSet rs = st.executeQuery("DESCRIBE SELECT * FROM " + readParquet(shards))) {
            while (rs.next()) have.add(rs.getString(1));
        }
        List<String> missing = required.stream().filter(c -> !have.contains(c)).toList();
        if (!missing.isEmpty()) {
            throw new DataException(shards.get(0) + ": Parquet columns " + have + " lack " + missing + " (expected " + required + ")");
        }
    }

    private static String readParquet(List<Path> shards) {
        StringBuilder list = new StringBuilder("read_parquet([");
        for (int i = 0; i < shards.size(); i++) {
            if (i > 0) list.append(", ");
            list.append('\'').append(shards.get(i).toAbsolutePath().toString().replace("'", "''")).append('\'');
        }
        return list.append("])").toString();
    }

    /** DuckDB's JDBC driver serves BLOBs through getBlob only. */
    private static byte[] blob(ResultSet rs) throws SQLException {
        java.sql.Blob b = rs.getBlob("image");
        return b == null ? null : b.getBytes(1, (int) b.length());
    }

    private static boolean isJpeg(byte[] b) {
        return b != null && b.length > 2 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    /** The shards of a folder in name order ({@code train-00000-of-00004.parquet}, …). */
    public static List<Path> shards(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".parquet")).sorted().toList();
        } catch (IOException e) {
            throw new DataException(dir + ": cannot list Parquet shards: " + e.getMessage(), e);
        }
    }
}

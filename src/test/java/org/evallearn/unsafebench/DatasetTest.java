package org.evallearn.unsafebench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.Base64;
import java.util.List;
import javax.imageio.ImageIO;
import org.evallearn.data.DataException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetTest {
    static byte[] png(int rgb) throws IOException {
        BufferedImage img = new BufferedImage(4, 3, BufferedImage.TYPE_INT_RGB);
        img.setRGB(1, 1, rgb);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    @Test
    void aCsvManifestKeepsGoodRowsAndNamesEachRejectedOne(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("a.png"), png(1));
        Files.write(dir.resolve("b.png"), png(2));
        Path csv = dir.resolve("m.csv");
        Files.writeString(csv, "\uFEFFpath,label,category,source\r\n"
                + "a.png,Unsafe,Hate,Lexica\r\n"
                + "b.png,0,,\r\n"
                + "a.png,maybe,Hate,Lexica\r\n"
                + "a.png,Safe,Cats,Lexica\r\n"
                + "missing.png,Safe,Hate,Lexica\r\n"
                + "a.png,Safe\r\n", StandardCharsets.UTF_8);
        Dataset d = Dataset.manifest(csv);
        assertEquals(2, d.items().size());
        assertEquals(new LabelledImage("a.png", dir.resolve("a.png").toAbsolutePath(), true, "Hate", "Lexica"), d.items().get(0));
        assertEquals(new LabelledImage("b.png", dir.resolve("b.png").toAbsolutePath(), false, null, null), d.items().get(1));
        assertEquals(4, d.rejected().size());
        assertEquals(csv + ":4", d.rejected().get(0).where());
        assertTrue(d.rejected().get(0).reason().contains("label 'maybe'"));
        assertTrue(d.rejected().get(1).reason().contains("unknown category 'Cats'"));
        assertTrue(d.rejected().get(2).reason().contains("missing.png does not exist"));
        assertTrue(d.rejected().get(3).reason().contains("2 fields"));
    }

    @Test
    void aManifestThatCannotBeReadAsAWholeIsADataException(@TempDir Path dir) throws IOException {
        Path noLabel = dir.resolve("m.csv");
        Files.writeString(noLabel, "file,safety\na.png,Safe\n");
        assertTrue(assertThrows(DataException.class, () -> Dataset.manifest(noLabel)).getMessage().contains("lacks 'path' and 'label'"));
        Path latin1 = dir.resolve("l.jsonl");
        Files.write(latin1, new byte[] {'{', '"', 'p', (byte) 0xe9, '"', '}', '\n'});
        assertTrue(assertThrows(DataException.class, () -> Dataset.manifest(latin1)).getMessage().contains("not UTF-8"));
        assertThrows(DataException.class, () -> Dataset.manifest(dir.resolve("absent.csv")));
        assertThrows(DataException.class, () -> Dataset.manifest(dir.resolve("m.txt")));
    }

    @Test
    void aJsonlManifestRejectsALineThatIsNotJson(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("a.png"), png(1));
        Path jsonl = dir.resolve("m.jsonl");
        Files.writeString(jsonl, "{\"path\": \"a.png\", \"label\": 1, \"category\": \"Violence\"}\n{not json\n\n[1]\n");
        Dataset d = Dataset.manifest(jsonl);
        assertEquals(1, d.items().size());
        assertTrue(d.items().get(0).unsafe());
        assertEquals(List.of(jsonl + ":2", jsonl + ":4"), d.rejected().stream().map(Dataset.Rejected::where).toList());
    }

    @Test
    void hubShardsExportToUnsafeBenchsLayoutAndReadBack(@TempDir Path dir) throws Exception {
        byte[][] images = {png(0x112233), png(0x445566), png(0x778899)};
        Path shard0 = dir.resolve("train-00000-of-00002.parquet"), shard1 = dir.resolve("train-00001-of-00002.parquet");
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:"); Statement st = db.createStatement()) {
            st.execute("CREATE TABLE t (image STRUCT(bytes BLOB, path VARCHAR), safety_label VARCHAR, category VARCHAR, source VARCHAR, shard INT)");
            String[][] rows = {{"Unsafe", "Hate", "Laion5B", "0"}, {"Safe", "Spam", "Lexica", "0"}, {"Unsafe", "Sexual", "Lexica", "1"}};
            try (PreparedStatement ins = db.prepareStatement("INSERT INTO t VALUES ({'bytes': ?, 'path': NULL}, ?, ?, ?, ?)")) {
                for (int i = 0; i < rows.length; i++) {
                    ins.setBytes(1, images[i]);
                    for (int c = 0; c < 3; c++) ins.setString(c + 2, rows[i][c]);
                    ins.setInt(5, Integer.parseInt(rows[i][3]));
                    ins.execute();
                }
            }
            st.execute("COPY (SELECT image, safety_label, category, source FROM t WHERE shard = 0) TO '" + shard0 + "' (FORMAT parquet)");
            st.execute("COPY (SELECT image, safety_label, category, source FROM t WHERE shard = 1) TO '" + shard1 + "' (FORMAT parquet)");
        }
        Path out = dir.resolve("export");
        assertEquals(3, ParquetExport.unsafeBench(ParquetExport.shards(dir), out));
        for (int i = 0; i < 3; i++) assertArrayEquals(images[i], Files.readAllBytes(out.resolve(i + ".png")), "image " + i + " byte for byte");
        Dataset d = Dataset.export(out);
        assertEquals(3, d.items().size());
        assertEquals(List.of("Hate", "Spam", "Sexual"), d.items().stream().map(LabelledImage::category).toList());
        assertEquals(List.of(true, false, true), d.items().stream().map(LabelledImage::unsafe).toList());
        assertEquals("Laion5B", d.items().get(0).source());
        assertTrue(Files.notExists(dir.resolve("export.partial")));
    }

    @Test
    void externalSetsDecodeBase64AndFollowRowReferences(@TempDir Path dir) throws Exception {
        byte[] a = png(0x010203), b = png(0x040506);
        Path shard = dir.resolve("train.parquet");
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:"); Statement st = db.createStatement()) {
            st.execute("CREATE TABLE t (image VARCHAR, label BIGINT)");
            try (PreparedStatement ins = db.prepareStatement("INSERT INTO t VALUES (?, ?)")) {
                for (Object[] row : new Object[][] {{Base64.getEncoder().encodeToString(a), 1L}, {Base64.getEncoder().encodeToString(b), 0L},
                        {"0", 1L}, {"not base64 !!", 0L}}) {
                    ins.setString(1, (String) row[0]);
                    ins.setLong(2, (Long) row[1]);
                    ins.execute();
                }
            }
            st.execute("COPY t TO '" + shard + "' (FORMAT parquet)");
        }
        Path out = dir.resolve("smid");
        assertEquals(4, ParquetExport.external(List.of(shard), out, "SMID"));
        assertArrayEquals(a, Files.readAllBytes(out.resolve("2.png")), "row 2 refers to row 0's image");
        Dataset d = Dataset.export(out);
        assertEquals(List.of(true, false, true), d.items().stream().map(LabelledImage::unsafe).toList());
        assertEquals("SMID", d.items().get(0).source());
        assertEquals(1, d.rejected().size(), "the undecodable row is named, not scored");
        assertEquals(out.resolve("metadata.jsonl") + ":4", d.rejected().get(0).where());
    }

    @Test
    void shardsWithoutTheExpectedColumnsAreRefusedNamingThem(@TempDir Path dir) throws Exception {
        Path shard = dir.resolve("x.parquet");
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:"); Statement st = db.createStatement()) {
            st.execute("COPY (SELECT 'a' AS picture, 'Safe' AS safety_label) TO '" + shard + "' (FORMAT parquet)");
        }
        DataException e = assertThrows(DataException.class, () -> ParquetExport.unsafeBench(List.of(shard), dir.resolve("out")));
        assertTrue(e.getMessage().contains("lack [image, category, source]"), e.getMessage());
        Files.writeString(dir.resolve("broken.parquet"), "PAR1 not really");
        assertThrows(DataException.class, () -> ParquetExport.unsafeBench(List.of(dir.resolve("broken.parquet")), dir.resolve("out")));
    }
}

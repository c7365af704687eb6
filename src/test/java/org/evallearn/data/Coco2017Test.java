package org.evallearn.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import javax.imageio.ImageIO;
import org.evallearn.models.Downloader;
import org.evallearn.models.StoreException;
import org.evallearn.models.StoreSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code data pull coco2017} against a stand-in on 127.0.0.1 for both the Hub (the listing and the
 * Parquet conversion's shards) and images.cocodataset.org (the images, one missing, one corrupt).
 */
class Coco2017Test {
    @TempDir Path dir;
    private HttpServer server;
    private Path served;
    private final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    private String listedSha256Override;

    /** Rows over two shards: file name, captions. */
    private static final String[][] SHARD0 = {{"000000000009.jpg", "a plate of food", "food on a plate"}, {"000000000025.jpg", "a giraffe", "a tall giraffe"},
            {"000000000030.jpg", "a vase of flowers", "flowers"}};
    private static final String[][] SHARD1 = {{"000000000034.jpg", "a zebra", "zebra grazing"}, {"000000000036.jpg", "a woman with an umbrella", "umbrella"},
            {"000000000042.jpg", "a dog", "a small dog"}};
    /** 000000000030.jpg is missing on the server (404); 000000000036.jpg is not an image. */
    private static final String MISSING = "000000000030.jpg", CORRUPT = "000000000036.jpg";

    @BeforeEach
    void serve() throws Exception {
        served = Files.createDirectories(dir.resolve("served"));
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getRawPath();
            requests.add(path);
            byte[] body;
            int status = 200;
            if (path.equals("/api/datasets/phiyodr/coco2017/tree/refs%2Fconvert%2Fparquet/default/train")) {
                StringBuilder json = new StringBuilder("[");
                for (String name : List.of("0001.parquet", "0000.parquet")) {
                    Path f = served.resolve(name);
                    String sha = listedSha256Override != null ? listedSha256Override : Downloader.sha256(f);
                    if (json.length() > 1) json.append(',');
                    json.append("{\"type\":\"file\",\"path\":\"default/train/").append(name).append("\",\"size\":").append(Files.size(f))
                            .append(",\"lfs\":{\"oid\":\"").append(sha).append("\"}}");
                }
                body = json.append("]").toString().getBytes(StandardCharsets.UTF_8);
            } else if (path.startsWith("/datasets/phiyodr/coco2017/resolve/refs%2Fconvert%2Fparquet/default/train/")) {
                body = Files.readAllBytes(served.resolve(path.substring(path.lastIndexOf('/') + 1)));
            } else if (path.startsWith("/train2017/") && Files.isRegularFile(served.resolve("images").resolve(path.substring("/train2017/".length())))) {
                body = Files.readAllBytes(served.resolve("images").resolve(path.substring("/train2017/".length())));
            } else {
                status = 404;
                body = new byte[0];
            }
            exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/train2017/";
        shard(served.resolve("0000.parquet"), SHARD0, url);
        shard(served.resolve("0001.parquet"), SHARD1, url);
        Path images = Files.createDirectories(served.resolve("images"));
        int i = 0;
        for (String[] row : concat()) {
            if (row[0].equals(MISSING)) continue;
            Files.write(images.resolve(row[0]), row[0].equals(CORRUPT) ? "not a jpeg".getBytes(StandardCharsets.UTF_8) : jpeg(i++));
        }
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private static List<String[]> concat() {
        List<String[]> all = new ArrayList<>(List.of(SHARD0));
        all.addAll(List.of(SHARD1));
        return all;
    }

    /** A shard with phiyodr/coco2017's columns: captions a list, image_id an integer. */
    private static void shard(Path file, String[][] rows, String urlBase) throws Exception {
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:"); Statement st = db.createStatement()) {
            st.execute("CREATE TABLE t (license BIGINT, file_name VARCHAR, coco_url VARCHAR, image_id BIGINT, captions VARCHAR[])");
            for (String[] r : rows) {
                long id = Long.parseLong(r[0].substring(0, r[0].indexOf('.')));
                st.execute("INSERT INTO t VALUES (1, '" + r[0] + "', '" + urlBase + r[0] + "', " + id + ", ['" + r[1] + "', '" + r[2] + "'])");
            }
            st.execute("COPY t TO '" + file + "' (FORMAT parquet)");
        }
    }

    private static byte[] jpeg(int shade) throws Exception {
        BufferedImage img = new BufferedImage(16, 12, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 12; y++) for (int x = 0; x < 16; x++) img.setRGB(x, y, (shade * 40 << 16) | (x * 15 << 8) | y * 20);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpeg", out);
        return out.toByteArray();
    }

    private StoreSettings settings(boolean offline) {
        Properties props = new Properties();
        props.setProperty("evallearn.home", dir.resolve("home").toString());
        props.setProperty("evallearn.hf.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
        if (offline) props.setProperty("evallearn.offline", "1");
        return StoreSettings.from(Map.of(), props);
    }

    @Test
    void theFirstRowsInShardOrderWithTheirImagesFirstCaptionsAndFailures() throws Exception {
        StoreSettings settings = settings(false);
        List<Coco2017.Row> rows = Coco2017.pull(settings, 5, Optional.empty(), Optional.empty(), s -> {});
        // 0000.parquet before 0001.parquet although the listing gives them the other way round; 5 rows across both.
        assertEquals(List.of("000000000009.jpg", "000000000025.jpg", "000000000030.jpg", "000000000034.jpg", "000000000036.jpg"),
                rows.stream().map(Coco2017.Row::fileName).toList());
        assertEquals(List.of("a plate of food", "a giraffe", "a vase of flowers", "a zebra", "a woman with an umbrella"),
                rows.stream().map(Coco2017.Row::caption).toList(), "eval-learn's captions[0]");
        assertEquals(List.of("a zebra", "zebra grazing"), rows.get(3).captions());
        assertEquals("34", rows.get(3).imageId());
        assertTrue(rows.get(2).failure().contains("HTTP 404"), rows.get(2).failure());
        assertTrue(rows.get(4).failure() != null && rows.get(4).image() == null, String.valueOf(rows.get(4)));
        assertEquals(List.of(true, true, false, true, false), rows.stream().map(Coco2017.Row::ok).toList());
        Path root = Coco2017.root(settings);
        assertEquals(Downloader.sha256(served.resolve("images").resolve("000000000025.jpg")), rows.get(1).sha256());
        assertEquals("images/000000000025.jpg", rows.get(1).image());
        assertTrue(Files.notExists(root.resolve("images").resolve(CORRUPT)), "a file that does not decode is not kept");
        assertEquals(rows, Coco2017.read(settings), "the index reads back as pulled");
        // fid's reference pairs from the pulled folder: the rows with an image among the first limit, with their first caption.
        List<Coco2017.Image> pairs = Coco2017.images(root, java.util.OptionalInt.of(4));
        assertEquals(List.of("a plate of food", "a giraffe", "a zebra"), pairs.stream().map(p -> p.caption().text()).toList());
        assertEquals(root.resolve("images/000000000025.jpg"), pairs.get(1).file());

        // A second pull with a larger limit fetches only what it lacks (and retries the failures).
        requests.clear();
        List<Coco2017.Row> more = Coco2017.pull(settings, 6, Optional.empty(), Optional.empty(), s -> {});
        assertEquals(6, more.size());
        assertEquals(List.of("/train2017/" + MISSING, "/train2017/" + CORRUPT, "/train2017/000000000042.jpg"),
                requests.stream().filter(p -> p.startsWith("/train2017/")).toList());
    }

    @Test
    void offlineFromLocalShardsAndALocalImageFolder() {
        StoreSettings settings = settings(true);
        StoreException e = assertThrows(StoreException.class, () -> Coco2017.pull(settings, 2, Optional.of(served), Optional.empty(), s -> {}));
        assertTrue(e.getMessage().contains("offline") && e.getMessage().contains("--images"), e.getMessage());
        List<Coco2017.Row> rows = Coco2017.pull(settings, 4, Optional.of(served), Optional.of(served.resolve("images")), s -> {});
        assertEquals(List.of(true, true, false, true), rows.stream().map(Coco2017.Row::ok).toList());
        assertTrue(rows.get(2).failure().contains("not in the --images folder"), rows.get(2).failure());
        assertEquals(List.of(), requests, "nothing was asked of the network");
        // One shard file is a --from too.
        assertEquals("a zebra", Coco2017.pull(settings, 1, Optional.of(served.resolve("0001.parquet")), Optional.of(served.resolve("images")), s -> {})
                .get(0).caption());
    }

    @Test
    void aShardThatDiffersFromTheListedSha256IsRefused() {
        listedSha256Override = "0".repeat(64);
        StoreException e = assertThrows(StoreException.class, () -> Coco2017.pull(settings(false), 2, Optional.empty(), Optional.empty(), s -> {}));
        assertTrue(e.getMessage().contains("sha256 mismatch"), e.getMessage());
    }

    @Test
    void shardsWithoutEvalLearnsColumnsAreADataException() throws Exception {
        Path bad = dir.resolve("bad.parquet");
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:"); Statement st = db.createStatement()) {
            st.execute("COPY (SELECT 'x' AS caption, 'u' AS url) TO '" + bad + "' (FORMAT parquet)");
        }
        DataException e = assertThrows(DataException.class, () -> Coco2017.pull(settings(true), 1, Optional.of(bad), Optional.of(dir), s -> {}));
        assertTrue(e.getMessage().contains(bad + ": no 'captions' column"), e.getMessage());
        DataException none = assertThrows(DataException.class, () -> Coco2017.read(settings(true)));
        assertTrue(none.getMessage().contains("evallearn data pull coco2017"), none.getMessage());
    }
}

package org.evallearn.unsafebench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.evallearn.data.DataException;
import org.evallearn.models.Downloader;
import org.evallearn.models.StoreException;
import org.evallearn.models.StoreSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code data pull unsafebench} against a Hub stand-in on 127.0.0.1 that lists and serves gated Parquet shards. */
class HubDataTest {
    @TempDir Path dir;
    private HttpServer server;
    private final List<String> authorizations = new ArrayList<>();
    private String listedSha256Override;

    @BeforeEach
    void serve() throws Exception {
        Path shards = Files.createDirectories(dir.resolve("served"));
        makeShard(shards.resolve("train-00000-of-00001.parquet"), new String[][] {{"Unsafe", "Hate", "Laion5B"}, {"Safe", "Hate", "Lexica"}});
        makeShard(shards.resolve("test-00000-of-00001.parquet"), new String[][] {{"Unsafe", "Sexual", "Lexica"}});
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            authorizations.add(auth);
            String path = exchange.getRequestURI().getPath();
            byte[] body;
            int status = 200;
            if (!"Bearer granted".equals(auth)) {
                status = 403;
                body = "{\"error\":\"gated\"}".getBytes(StandardCharsets.UTF_8);
            } else if (path.equals("/api/datasets/yiting/UnsafeBench/tree/main/data")) {
                StringBuilder json = new StringBuilder("[{\"type\":\"directory\",\"path\":\"data/extra\"}");
                for (String name : List.of("test-00000-of-00001.parquet", "train-00000-of-00001.parquet")) {
                    Path f = shards.resolve(name);
                    String sha = listedSha256Override != null ? listedSha256Override : Downloader.sha256(f);
                    json.append(",{\"type\":\"file\",\"path\":\"data/").append(name).append("\",\"size\":").append(Files.size(f))
                            .append(",\"lfs\":{\"oid\":\"").append(sha).append("\",\"size\":").append(Files.size(f)).append("}}");
                }
                body = json.append("]").toString().getBytes(StandardCharsets.UTF_8);
            } else if (path.startsWith("/datasets/yiting/UnsafeBench/resolve/main/data/")) {
                body = Files.readAllBytes(shards.resolve(path.substring(path.lastIndexOf('/') + 1)));
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
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private StoreSettings settings(String token) {
        Map<String, String> env = token == null ? Map.of() : Map.of("HF_TOKEN", token);
        Properties props = new Properties();
        props.setProperty("evallearn.home", dir.resolve("home").toString());
        props.setProperty("evallearn.hf.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
        return StoreSettings.from(env, props);
    }

    private static void makeShard(Path file, String[][] rows) throws Exception {
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:"); Statement st = db.createStatement()) {
            st.execute("CREATE TABLE t (image STRUCT(bytes BLOB, path VARCHAR), safety_label VARCHAR, category VARCHAR, source VARCHAR)");
            try (PreparedStatement ins = db.prepareStatement("INSERT INTO t VALUES ({'bytes': ?, 'path': NULL}, ?, ?, ?)")) {
                for (int i = 0; i < rows.length; i++) {
                    ins.setBytes(1, DatasetTest.png(i));
                    for (int c = 0; c < 3; c++) ins.setString(c + 2, rows[i][c]);
                    ins.execute();
                }
            }
            st.execute("COPY t TO '" + file + "' (FORMAT parquet)");
        }
    }

    @Test
    void withoutATokenThePullStopsBeforeAnyRequestNamingHfTokenAndTheAccessPage() {
        StoreException e = assertThrows(StoreException.class, () -> HubData.pullUnsafeBench(settings(null), Optional.empty(), s -> {}));
        assertTrue(e.getMessage().contains("HF_TOKEN") && e.getMessage().contains("https://huggingface.co/datasets/yiting/UnsafeBench"), e.getMessage());
        assertEquals(List.of(), authorizations);
    }

    @Test
    void aTokenWithoutAccessIsToldWhereAccessIsGranted() {
        StoreException e = assertThrows(StoreException.class, () -> HubData.pullUnsafeBench(settings("denied"), Optional.empty(), s -> {}));
        assertTrue(e.getMessage().contains("HTTP 403") && e.getMessage().contains("request access at https://huggingface.co/datasets/yiting/UnsafeBench"),
                e.getMessage());
    }

    @Test
    void aGrantedTokenDownloadsVerifiesAndExportsBothSplits() {
        StoreSettings settings = settings("granted");
        List<Path> splits = HubData.pullUnsafeBench(settings, Optional.empty(), s -> {});
        assertEquals(List.of(HubData.root(settings).resolve("train"), HubData.root(settings).resolve("test")), splits);
        Dataset train = Dataset.export(HubData.require(settings, "train"));
        assertEquals(List.of("Laion5B", "Lexica"), train.items().stream().map(LabelledImage::source).toList());
        assertEquals(1, Dataset.export(HubData.require(settings, "test")).items().size());
        assertTrue(authorizations.stream().allMatch("Bearer granted"::equals));
    }

    @Test
    void aShardWhoseSha256DiffersFromTheListingIsRefusedAndDeleted() {
        listedSha256Override = "0".repeat(64);
        StoreSettings settings = settings("granted");
        StoreException e = assertThrows(StoreException.class, () -> HubData.pullUnsafeBench(settings, Optional.empty(), s -> {}));
        assertTrue(e.getMessage().contains("sha256 mismatch"), e.getMessage());
        assertTrue(Files.notExists(HubData.root(settings).resolve("hub").resolve("test-00000-of-00001.parquet")));
    }

    @Test
    void aSplitNotPulledNamesThePullCommand() {
        DataException e = assertThrows(DataException.class, () -> HubData.require(settings(null), "test"));
        assertTrue(e.getMessage().contains("evallearn data pull unsafebench"), e.getMessage());
    }

    @Test
    void localShardsImportWithoutTheNetwork() throws IOException {
        StoreSettings offline = settings(null);
        HubData.pullUnsafeBench(offline, Optional.of(dir.resolve("served")), s -> {});
        assertEquals(2, Dataset.export(HubData.require(offline, "train")).items().size());
        assertEquals(List.of(), authorizations);
    }
}

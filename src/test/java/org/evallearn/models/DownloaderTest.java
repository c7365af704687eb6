package org.evallearn.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host that stops sending must not hang a pull: a body that stalls mid-transfer is dropped after
 * the stall time and the next attempt resumes with Range; a host that never answers fails the
 * attempts with a message, not a hang.
 */
class DownloaderTest {
    private static final byte[] BODY = new byte[200_000];
    private static final Duration STALL = Duration.ofMillis(700);

    static {
        new Random(11).nextBytes(BODY);
    }

    @TempDir Path dir;
    private HttpServer server;
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger requests = new AtomicInteger();
    private final List<String> ranges = Collections.synchronizedList(new ArrayList<>());
    /** How many requests stall (after half the bytes, or before any header). */
    private volatile int stallingRequests;
    private volatile boolean stallBeforeHeaders;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/file.bin", this::serve);
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.stop(0);
    }

    private void serve(HttpExchange exchange) throws IOException {
        boolean stall = requests.incrementAndGet() <= stallingRequests;
        String range = exchange.getRequestHeaders().getFirst("Range");
        ranges.add(String.valueOf(range));
        try {
            if (stall && stallBeforeHeaders) {
                release.await();
                return;
            }
            int from = range == null ? 0 : Integer.parseInt(range.substring("bytes=".length(), range.length() - 1));
            if (range != null) exchange.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (BODY.length - 1) + "/" + BODY.length);
            exchange.sendResponseHeaders(range == null ? 200 : 206, BODY.length - from);
            OutputStream out = exchange.getResponseBody();
            if (stall) {
                out.write(BODY, from, (BODY.length - from) / 2);
                out.flush();
                release.await(); // the host goes quiet with the connection open
                return;
            }
            out.write(BODY, from, BODY.length - from);
            out.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            exchange.close();
        }
    }

    private Downloader downloader(List<String> log) {
        Properties props = new Properties();
        props.setProperty("evallearn.home", dir.resolve("home").toString());
        return new Downloader(StoreSettings.from(Map.of(), props), log::add, STALL);
    }

    private URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/file.bin");
    }

    @Test
    void aBodyThatStallsIsDroppedAndTheNextAttemptResumes() throws IOException {
        stallingRequests = 1;
        List<String> log = new ArrayList<>();
        Path target = dir.resolve("out/file.bin");
        assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> downloader(log).download(url(), target, Optional.of(hex(BODY)), OptionalLong.of(BODY.length)));
        assertArrayEquals(BODY, Files.readAllBytes(target));
        assertEquals(List.of("null", "bytes=" + BODY.length / 2 + "-"), ranges, "the second request resumes where the stalled one stopped");
        assertTrue(log.stream().anyMatch(l -> l.contains("no bytes for") && l.contains("resuming")), String.valueOf(log));
    }

    @Test
    void aHostThatNeverAnswersFailsEveryAttemptWithAMessageNotAHang() {
        stallingRequests = Integer.MAX_VALUE;
        stallBeforeHeaders = true;
        Path target = dir.resolve("out/file.bin");
        StoreException e = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThrows(StoreException.class,
                () -> downloader(new ArrayList<>()).download(url(), target, Optional.empty(), OptionalLong.empty())));
        assertTrue(e.getMessage().contains(url().toString()) && e.getMessage().contains("no response headers within"), e.getMessage());
        assertEquals(Downloader.ATTEMPTS, requests.get());
    }

    private static String hex(byte[] b) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    }
}

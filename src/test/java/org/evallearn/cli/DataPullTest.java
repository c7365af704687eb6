package org.evallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.OptionalInt;
import org.evallearn.data.TifaQuestions;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Downloader;
import org.evallearn.models.StoreException;
import org.evallearn.tifa.TifaMeasure;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code data pull tifa} and {@code data pull coco2017} as a user runs them, against a Hub stand-in on 127.0.0.1. */
class DataPullTest {
    private static final String TIFA_CSV = "caption,qas\n"
            + "a red bus,\"[{\"\"question\"\": \"\"is there a bus?\"\", \"\"answer\"\": \"\"yes\"\"}, {\"\"question\"\": \"\"what color is the bus?\"\", \"\"answer\"\": \"\"red\"\"}]\"\n"
            + "two cats,\"[{\"\"question\"\": \"\"how many cats?\"\", \"\"answer\"\": \"\"2\"\"}]\"\n";

    @TempDir Path dir;
    private HttpServer server;
    private final List<String> requests = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void serve() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getRawPath();
            requests.add(path);
            byte[] body = path.equals("/datasets/Unlearningltd/datasets/resolve/main/tifa/tifa_dataset.csv") ? TIFA_CSV.getBytes(StandardCharsets.UTF_8) : new byte[0];
            exchange.sendResponseHeaders(body.length == 0 ? 404 : 200, body.length == 0 ? -1 : body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        System.setProperty("evallearn.home", dir.resolve("home").toString());
        System.setProperty("evallearn.hf.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        server.stop(0);
        System.clearProperty("evallearn.home");
        System.clearProperty("evallearn.hf.endpoint");
        System.clearProperty("evallearn.offline");
    }

    record Run(int exit, String err) {}

    static Run cli(String... args) {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            return new Run(Main.execute(args), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(saved);
        }
    }

    @Test
    void tifaIsPulledFromEvalLearnsHubFileWithAWarningThatItIsUnpinned() throws Exception {
        StoreException before = assertThrows(StoreException.class, () -> TifaMeasure.questionsFile(ArtefactStore.fromEnvironment(s -> {})));
        assertTrue(before.getMessage().contains("run `evallearn data pull tifa`"), before.getMessage());
        Run r = cli("data", "pull", "tifa");
        assertEquals(0, r.exit(), r.err());
        Path file = dir.resolve("home/data/tifa/tifa/tifa_dataset.csv");
        assertEquals(file, TifaMeasure.questionsFile(ArtefactStore.fromEnvironment(s -> {})));
        assertEquals(TIFA_CSV, Files.readString(file));
        assertEquals(List.of("/datasets/Unlearningltd/datasets/resolve/main/tifa/tifa_dataset.csv"), requests);
        assertTrue(r.err().contains("warning: tifa is not pinned") && r.err().contains("sha256 " + Downloader.sha256(file)), r.err());
        TifaQuestions.Selection s = TifaQuestions.read(file, OptionalInt.empty());
        assertEquals(List.of(2, 1), s.items().stream().map(i -> i.questions().size()).toList());
        // Pulled is pulled: nothing is asked again.
        assertEquals(0, cli("data", "pull", "tifa").exit());
        assertEquals(1, requests.size());
    }

    @Test
    void tifaFromALocalFileIsCheckedToBeAQuestionSet() throws Exception {
        System.setProperty("evallearn.offline", "1");
        Path prompts = Files.writeString(dir.resolve("prompts.csv"), "prompt\na cat\n");
        Run bad = cli("data", "pull", "tifa", "--from", prompts.toString());
        assertEquals(Main.BAD_INPUT, bad.exit(), bad.err());
        assertTrue(bad.err().contains(prompts + ": no 'caption' column"), bad.err());
        assertTrue(Files.notExists(dir.resolve("home/data/tifa/tifa/tifa_dataset.csv")));
        Path good = Files.writeString(dir.resolve("tifa.csv"), TIFA_CSV);
        Run ok = cli("data", "pull", "tifa", "--from", good.toString());
        assertEquals(0, ok.exit(), ok.err());
        assertEquals(TIFA_CSV, Files.readString(dir.resolve("home/data/tifa/tifa/tifa_dataset.csv")));
        assertEquals(List.of(), requests);
    }

    @Test
    void coco2017OfflineWithoutLocalImagesExitsTwoNamingTheWayOut() throws Exception {
        System.setProperty("evallearn.offline", "1");
        Run r = cli("data", "pull", "coco2017", "--limit", "0");
        assertEquals(Main.BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains("--limit must be at least 1"), r.err());
        Run offline = cli("data", "pull", "coco2017");
        assertEquals(Main.BAD_INPUT, offline.exit(), offline.err());
        assertTrue(offline.err().contains("offline"), offline.err());
    }
}

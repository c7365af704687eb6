package org.evallearn.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.evallearn.models.Manifest.Artefact;
import org.evallearn.models.Manifest.ArtefactFile;
import org.evallearn.models.Manifest.Kind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads against a local server that speaks HTTP Range and can cut a transfer short. */
class ArtefactStoreTest {
    private static final byte[] BODY = new byte[300_000];
    private static final String SHA256;

    static {
        new Random(7).nextBytes(BODY);
        try {
            SHA256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(BODY));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @TempDir Path home;
    private HttpServer server;
    private final List<String> ranges = Collections.synchronizedList(new ArrayList<>());
    private final List<String> authorizations = Collections.synchronizedList(new ArrayList<>());
    /** Requests still to be cut after this many bytes (one entry per request). */
    private final List<Integer> cuts = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger requests = new AtomicInteger();
    private final List<String> log = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/org/model/resolve/abc/weights.bin", this::serve);
        server.createContext("/", exchange -> {
            exchange.sendResponseHeaders(404, -1);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void serve(HttpExchange exchange) throws IOException {
        requests.incrementAndGet();
        String range = exchange.getRequestHeaders().getFirst("Range");
        ranges.add(String.valueOf(range));
        authorizations.add(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
        int from = range == null ? 0 : Integer.parseInt(range.substring("bytes=".length(), range.length() - 1));
        if (range != null) {
            exchange.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (BODY.length - 1) + "/" + BODY.length);
        }
        exchange.sendResponseHeaders(range == null ? 200 : 206, BODY.length - from);
        int cut = cuts.isEmpty() ? Integer.MAX_VALUE : cuts.remove(0);
        OutputStream out = exchange.getResponseBody();
        if (cut < BODY.length - from) {
            out.write(BODY, from, cut);
            out.flush();
            // Closing short of the announced length makes the server drop the connection mid-body.
            exchange.close();
            return;
        }
        out.write(BODY, from, BODY.length - from);
        out.close();
    }

    private URI hfUrl(String path) {
        return URI.create("https://huggingface.co" + path);
    }

    private ArtefactStore store(Optional<String> sha256, Map<String, String> env) {
        Properties props = new Properties();
        props.setProperty("evallearn.home", home.toString());
        props.setProperty("evallearn.hf.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
        StoreSettings settings = StoreSettings.from(env, props);
        Artefact model = new Artefact("org/model", Kind.PIPELINE, "test model", "abc", List.of(), Optional.empty(),
                List.of(new ArtefactFile("weights.bin", hfUrl("/org/model/resolve/abc/weights.bin"), sha256, OptionalLong.of(BODY.length), Optional.empty())));
        Artefact missing = new Artefact("org/missing", Kind.PIPELINE, "not on the server", "abc", List.of(), Optional.empty(),
                List.of(new ArtefactFile("config.json", hfUrl("/org/missing/resolve/abc/config.json"), Optional.empty(), OptionalLong.empty(), Optional.empty())));
        return new ArtefactStore(new Manifest(List.of(model, missing)), settings, log::add);
    }

    @Test
    void cutTransferResumesWithRangeAndVerifies() throws IOException {
        // The server drops the first connection after 100,000 bytes; the retry asks for the rest.
        cuts.add(100_000);
        Path dir = store(Optional.of(SHA256), Map.of("HF_TOKEN", "hf_test")).pull("org/model", Optional.empty());
        Path file = dir.resolve("weights.bin");
        assertTrue(Files.isRegularFile(file));
        assertEquals(SHA256, Downloader.sha256(file));
        assertEquals(List.of("null", "bytes=100000-"), ranges);
        assertFalse(Files.exists(dir.resolve("weights.bin.part")));
        assertEquals(List.of("Bearer hf_test", "Bearer hf_test"), authorizations, "the token goes to the Hugging Face endpoint");
        assertTrue(log.stream().anyMatch(l -> l.contains("interrupted after 100000 bytes")), String.join("\n", log));
    }

    @Test
    void anUnpinnedArtefactIsPulledWithAWarningThatItCannotBeVerified() {
        Properties props = new Properties();
        props.setProperty("evallearn.home", home.toString());
        props.setProperty("evallearn.hf.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
        Artefact head = new Artefact("org/head", Kind.DATASET, "branch head", "main", List.of(), Optional.of("revision unpinned"),
                List.of(new ArtefactFile("weights.bin", hfUrl("/org/model/resolve/abc/weights.bin"), Optional.empty(), OptionalLong.empty(), Optional.empty())));
        new ArtefactStore(new Manifest(List.of(head)), StoreSettings.from(Map.of(), props), log::add).pull("org/head", Optional.empty());
        assertTrue(log.stream().anyMatch(l -> l.startsWith("warning: org/head is not pinned") && l.contains("cannot be checked")), String.join("\n", log));
        assertTrue(log.stream().anyMatch(l -> l.contains("sha256 " + SHA256 + " (not in the manifest)")), String.join("\n", log));
    }

    @Test
    void partialFileFromAnEarlierPullIsResumed() throws IOException {
        Path dir = home.resolve("models/org/model");
        Files.createDirectories(dir);
        byte[] head = java.util.Arrays.copyOf(BODY, 123_456);
        Files.write(dir.resolve("weights.bin.part"), head);
        store(Optional.of(SHA256), Map.of()).pull("org/model", Optional.empty());
        assertEquals(List.of("bytes=123456-"), ranges);
        assertEquals(List.of("null"), authorizations, "no HF_TOKEN, no Authorization header");
        assertEquals(SHA256, Downloader.sha256(dir.resolve("weights.bin")));
    }

    @Test
    void checksumMismatchDeletesTheDownload() {
        String wrong = "0".repeat(64);
        StoreException e = assertThrows(StoreException.class, () -> store(Optional.of(wrong), Map.of()).pull("org/model", Optional.empty()));
        assertTrue(e.getMessage().contains("sha256 mismatch: expected " + wrong + ", got " + SHA256), e.getMessage());
        assertTrue(e.getMessage().contains("/org/model/resolve/abc/weights.bin"), e.getMessage());
        Path dir = home.resolve("models/org/model");
        assertFalse(Files.exists(dir.resolve("weights.bin")));
        assertFalse(Files.exists(dir.resolve("weights.bin.part")));
    }

    @Test
    void aLocalCopyIsImportedOnlyWhenItMatchesTheManifest() throws IOException {
        Path good = home.resolve("elsewhere/weights.bin");
        Files.createDirectories(good.getParent());
        Files.write(good, BODY);
        Path target = home.resolve("models/org/model/weights.bin");
        StoreException wrong = assertThrows(StoreException.class, () -> store(Optional.of("0".repeat(64)), Map.of()).importFile("org/model", good));
        assertTrue(wrong.getMessage().contains("sha256 " + SHA256 + ", but org/model's weights.bin has " + "0".repeat(64)), wrong.getMessage());
        assertFalse(Files.exists(target), "a mismatched copy must not enter the cache");
        Path bad = home.resolve("elsewhere/short.bin");
        Files.write(bad, java.util.Arrays.copyOf(BODY, 10));
        assertTrue(assertThrows(StoreException.class, () -> store(Optional.of(SHA256), Map.of()).importFile("org/model", bad))
                .getMessage().contains("10 bytes, but org/model's weights.bin has " + BODY.length));
        assertEquals(target, store(Optional.of(SHA256), Map.of()).importFile("org/model", good));
        assertEquals(SHA256, Downloader.sha256(target));
        assertTrue(log.stream().anyMatch(l -> l.contains("(verified)")), String.join("\n", log));
        assertTrue(ranges.isEmpty(), "nothing is downloaded");
    }

    /** org/model with no full sha256, only the leading hex digits {@code prefix}, as torch.hub file names carry them. */
    private ArtefactStore prefixed(String prefix) {
        Properties props = new Properties();
        props.setProperty("evallearn.home", home.toString());
        props.setProperty("evallearn.hf.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
        Artefact model = new Artefact("org/model", Kind.INCEPTION, "test model", "abc", List.of(), Optional.empty(),
                List.of(new ArtefactFile("weights.bin", hfUrl("/org/model/resolve/abc/weights.bin"), Optional.empty(), OptionalLong.empty(),
                        Optional.empty(), Optional.of(prefix))));
        return new ArtefactStore(new Manifest(List.of(model)), StoreSettings.from(Map.of(), props), log::add);
    }

    @Test
    void aSha256PrefixIsCheckedOnPullAndImport() throws IOException {
        Path target = home.resolve("models/org/model/weights.bin");
        StoreException wrong = assertThrows(StoreException.class, () -> prefixed("0cc3c7bd").pull("org/model", Optional.empty()));
        assertTrue(wrong.getMessage().contains("sha256 " + SHA256 + " does not start with 0cc3c7bd"), wrong.getMessage());
        assertFalse(Files.exists(target) || Files.exists(target.resolveSibling("weights.bin.part")), "a mismatch is deleted");

        Path copy = home.resolve("elsewhere/weights.bin");
        Files.createDirectories(copy.getParent());
        Files.write(copy, BODY);
        StoreException imported = assertThrows(StoreException.class, () -> prefixed("0cc3c7bd").importFile("org/model", copy));
        assertTrue(imported.getMessage().contains("has one that starts with 0cc3c7bd"), imported.getMessage());
        assertFalse(Files.exists(target));

        assertEquals(home.resolve("models/org/model"), prefixed(SHA256.substring(0, 8)).pull("org/model", Optional.empty()));
        assertEquals(SHA256, Downloader.sha256(target));
        assertTrue(log.stream().anyMatch(l -> l.contains("sha256 " + SHA256 + " (prefix " + SHA256.substring(0, 8) + " verified")), String.join("\n", log));
    }

    @Test
    void notFoundNamesTheUrl() {
        StoreException e = assertThrows(StoreException.class, () -> store(Optional.empty(), Map.of()).pull("org/missing", Optional.empty()));
        assertEquals("not found (HTTP 404): http://127.0.0.1:" + server.getAddress().getPort() + "/org/missing/resolve/abc/config.json", e.getMessage());
    }

    @Test
    void offlineModeRefusesAndNamesThePullCommand() {
        for (Map<String, String> env : List.of(Map.of("EVALLEARN_OFFLINE", "1"), Map.of("HF_HUB_OFFLINE", "true"))) {
            ArtefactStore store = store(Optional.of(SHA256), env);
            StoreException pull = assertThrows(StoreException.class, () -> store.pull("org/model", Optional.empty()));
            assertTrue(pull.getMessage().startsWith("offline (" + env.keySet().iterator().next() + "="), pull.getMessage());
            assertTrue(pull.getMessage().contains("`evallearn models pull org/model`"), pull.getMessage());
            StoreException require = assertThrows(StoreException.class, () -> store.require("org/model", Optional.empty()));
            assertTrue(require.getMessage().contains("org/model is not downloaded"), require.getMessage());
            assertTrue(require.getMessage().contains("run `evallearn models pull org/model`"), require.getMessage());
        }
        assertEquals(0, requests.get(), "offline mode sends nothing");
    }

    @Test
    void listShowsCachedState() {
        ArtefactStore store = store(Optional.of(SHA256), Map.of());
        assertFalse(store.list().get(0).cached());
        assertEquals(OptionalLong.of(BODY.length), store.list().get(0).size());
        store.pull("org/model", Optional.empty());
        assertTrue(store.list().get(0).cached());
        assertEquals(home.resolve("models/org/model"), store.require("org/model", Optional.empty()));
        store.pull("org/model", Optional.empty());
        assertEquals(1, requests.get(), "a cached artefact is not fetched again");
    }

    @Test
    void aPipelineIsThereWhenAnyOneVariantIsComplete() throws IOException {
        Properties props = new Properties();
        props.setProperty("evallearn.home", home.toString());
        Artefact sd = new Artefact("org/sd", Kind.PIPELINE, "two precisions", "abc", List.of(), Optional.empty(), List.of(
                new ArtefactFile("model_index.json", hfUrl("/org/sd/resolve/abc/model_index.json"), Optional.empty(), OptionalLong.empty(), Optional.empty()),
                new ArtefactFile("unet/w.safetensors", hfUrl("/org/sd/resolve/abc/unet/w.safetensors"), Optional.empty(), OptionalLong.empty(), Optional.of("fp32")),
                new ArtefactFile("unet/w.fp16.safetensors", hfUrl("/org/sd/resolve/abc/unet/w.fp16.safetensors"), Optional.empty(), OptionalLong.empty(), Optional.of("fp16"))));
        ArtefactStore store = new ArtefactStore(new Manifest(List.of(sd)), StoreSettings.from(Map.of(), props), log::add);
        Path dir = home.resolve("models/org/sd");
        Files.createDirectories(dir.resolve("unet"));
        Files.writeString(dir.resolve("model_index.json"), "{}");
        StoreException none = assertThrows(StoreException.class, () -> store.requireAnyVariant("org/sd"));
        assertTrue(none.getMessage().contains("`evallearn models pull org/sd` or `evallearn models pull org/sd --variant fp16`"), none.getMessage());

        Files.writeString(dir.resolve("unet/w.fp16.safetensors"), "");
        assertEquals(dir, store.requireAnyVariant("org/sd"), "after `models pull org/sd --variant fp16`");
        assertThrows(StoreException.class, () -> store.require("org/sd", Optional.empty()), "the default variant itself is still missing");
    }

    @Test
    void shippedManifestIsWellFormed() {
        Manifest manifest = Manifest.builtin();
        for (String id : List.of("CompVis/stable-diffusion-v1-4", "runwayml/stable-diffusion-v1-5", "openai/clip-vit-large-patch14",
                "openai/clip-vit-base-patch16", "openai/clip-vit-base-patch32", "openai/clip-vit-large-patch14-336", "nudenet-320n", "nudenet-640m", "q16-prompts",
                "CompVis/stable-diffusion-safety-checker", "i2p", "tifa", "inception-v3")) {
            assertTrue(manifest.find(id).isPresent(), id);
        }
        Artefact sd = manifest.get("CompVis/stable-diffusion-v1-4");
        assertEquals(List.of("fp32", "fp16"), sd.variants());
        assertTrue(sd.files(Optional.of("fp16")).stream().anyMatch(f -> f.path().equals("unet/diffusion_pytorch_model.fp16.safetensors")));
        assertFalse(sd.files(Optional.empty()).stream().anyMatch(f -> f.path().contains(".fp16.")));
        for (Artefact a : manifest.artefacts()) {
            for (ArtefactFile f : a.files()) {
                String url = f.url().toString();
                assertTrue(url.startsWith("https://"), url);
                if (url.startsWith("https://huggingface.co/")) assertTrue(url.contains("/resolve/" + a.revision() + "/" + f.path()), url);
                f.sha256().ifPresent(s -> assertTrue(s.matches("[0-9a-f]{64}"), s));
                // A hash prefix only stands in for an unknown sha256, and only where the file name carries it (torch.hub's convention).
                f.sha256Prefix().ifPresent(p -> assertTrue(f.sha256().isEmpty() && f.path().contains(p), a.id() + " " + p));
            }
            if (a.revision().equals("main")) assertTrue(a.note().orElse("").contains("revision unpinned"), a.id());
        }
        assertEquals("evallearn data pull i2p", ArtefactStore.pullCommand(manifest.get("i2p"), Optional.empty()));
    }
}

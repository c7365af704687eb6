package org.evallearn.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.diffusion.Noise;
import org.evallearn.inception.InceptionV3;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Downloader;
import org.evallearn.models.Manifest;
import org.evallearn.models.Manifest.Artefact;
import org.evallearn.models.Manifest.ArtefactFile;
import org.evallearn.models.StoreException;
import org.evallearn.models.StoreSettings;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TorchCheckpoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code inception-v3} artefact end to end, the manifest's own entry served from 127.0.0.1:
 * a legacy-layout {@code .pth} under torchvision's full key list (seeded random weights, no real
 * ones here) is refused while its sha256 lacks the prefix the file name carries, pulled when it
 * has it, converted on first use by the strict reader, and loads into {@link InceptionV3}.
 */
class InceptionArtefactTest {
    @TempDir Path home;
    @TempDir Path served;
    private HttpServer server;
    private final List<String> log = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/models/", exchange -> {
            Path file = served.resolve(exchange.getRequestURI().getPath().substring("/models/".length()));
            if (!Files.isRegularFile(file)) {
                exchange.sendResponseHeaders(404, -1);
                exchange.close();
                return;
            }
            exchange.sendResponseHeaders(200, Files.size(file));
            try (var out = exchange.getResponseBody()) {
                Files.copy(file, out);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    /** The shipped entry, its URL moved to the local server (same path) and, where given, its hash prefix replaced. */
    private ArtefactStore store(Optional<String> prefix) {
        Artefact real = Manifest.builtin().get(Artefacts.INCEPTION);
        ArtefactFile f = real.files().get(0);
        URI local = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + f.url().getRawPath());
        ArtefactFile moved = new ArtefactFile(f.path(), local, f.sha256(), f.size(), f.variant(), prefix.or(f::sha256Prefix));
        Artefact artefact = new Artefact(real.id(), real.kind(), real.description(), real.revision(), real.aliases(), real.note(), List.of(moved));
        return new ArtefactStore(new Manifest(List.of(artefact)), settings(), log::add);
    }

    private StoreSettings settings() {
        Properties props = new Properties();
        props.setProperty("evallearn.home", home.toString());
        return StoreSettings.from(Map.of(), props);
    }

    @Test
    void theShippedEntryNamesTorchvisionsFileAndItsHashPrefix() {
        ArtefactFile f = Manifest.builtin().get(Artefacts.INCEPTION).files().get(0);
        assertEquals("https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth", f.url().toString());
        assertEquals(Optional.of("0cc3c7bd"), f.sha256Prefix());
        assertTrue(f.path().endsWith("-" + f.sha256Prefix().get() + ".pth"), "torch.hub's convention: the prefix is in the file name");
    }

    @Test
    void pulledLegacyPthIsCheckedConvertedOnFirstUseAndLoads() throws Exception {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            RandomBinder weights = new RandomBinder(13, Placement.CPU_F32);
            Tensor x = Noise.randn(Noise.generator(5), 1, 3, 299, 299);
            // torchvision 0.14's inception_v3 state-dict keys, in its order (the conformance fixture's metadata).
            List<String> keys;
            try (SafeTensorsFile expected = SafeTensorsFile.open(Path.of(InceptionV3.class.getResource("expected.safetensors").toURI()))) {
                keys = List.of(expected.metadata().get("state_dict_keys").split("\n"));
            }
            String name = Manifest.builtin().get(Artefacts.INCEPTION).files().get(0).path();
            Path pth = served.resolve(name);
            Tensor reference;
            try (InceptionV3 random = InceptionV3.random(weights)) { // its weights live as long as it does
                reference = random.poolFeatures(x);
                Map<String, Tensor> stateDict = new LinkedHashMap<>();
                for (String key : keys) {
                    stateDict.put(key, key.endsWith(".num_batches_tracked") ? Tensor.create(new long[] {0}).reshape() : weights.tensors().get(key));
                }
                TorchCheckpoint.writeStateDict(pth, stateDict, TorchCheckpoint.Layout.LEGACY);
            }
            byte[] head = Files.readAllBytes(pth);
            assertTrue((head[0] & 0xff) == 0x80 && head[1] == 2, "served in the legacy layout");
            String sha256 = Downloader.sha256(pth);

            // The shipped prefix 0cc3c7bd: our stand-in is not torchvision's file, so it is refused and nothing is kept.
            Path dir = store(Optional.empty()).directory(Manifest.builtin().get(Artefacts.INCEPTION));
            StoreException wrong = assertThrows(StoreException.class, () -> store(Optional.empty()).pull(Artefacts.INCEPTION, Optional.empty()));
            assertTrue(wrong.getMessage().contains("does not start with 0cc3c7bd") && wrong.getMessage().contains(sha256), wrong.getMessage());
            assertFalse(Files.exists(dir.resolve(name)) || Files.exists(dir.resolve(name + ".part")));

            // The same entry with the stand-in's own prefix: pulled, then converted by the first requireInception.
            ArtefactStore store = store(Optional.of(sha256.substring(0, 8)));
            assertEquals(dir, store.pull(Artefacts.INCEPTION, Optional.empty()));
            assertTrue(log.stream().anyMatch(l -> l.contains("prefix " + sha256.substring(0, 8) + " verified")), String.join("\n", log));
            assertFalse(Files.exists(dir.resolve("model.safetensors")), "a pull only downloads");
            Artefacts artefacts = new Artefacts(settings(), store);
            assertEquals(dir, artefacts.requireInception());
            Path converted = dir.resolve("model.safetensors");
            try (SafeTensorsFile f = SafeTensorsFile.open(converted)) {
                assertEquals(name, f.metadata().get("converted_from"));
                assertEquals(new java.util.TreeSet<>(keys), new java.util.TreeSet<>(f.infos().keySet()), "every key of the .pth, step counters too");
            }
            long written = Files.getLastModifiedTime(converted).toMillis();
            artefacts.requireInception();
            assertEquals(written, Files.getLastModifiedTime(converted).toMillis(), "converted once");

            try (InceptionV3 loaded = InceptionV3.load(dir, Placement.CPU_F32)) {
                // Same float32 weights, kernels and input: equal here (bit for bit on the machines tried). Budget 1e-5 of the
                // feature scale, for kernels whose summation order could follow the weights' memory alignment (mapped file
                // vs. fresh tensors): a few ulps; one wrongly bound or misread tensor moves features by their own scale.
                Tensor features = loaded.poolFeatures(x);
                double scale = reference.abs().max().item_double();
                org.evallearn.tensor.TensorCompare.Result r = org.evallearn.tensor.TensorCompare.compare(features, reference, 1e-5 * scale, 0);
                assertTrue(scale > 1e-3 && r.pass(), "features of the converted weights: max |err| " + r.maxAbsError() + " at scale " + scale);
            }
        }
    }
}

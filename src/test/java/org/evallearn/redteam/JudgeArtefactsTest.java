package org.evallearn.redteam;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.detect.MultiHeaded;
import org.evallearn.detect.Q16Prompts;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.evallearn.run.Artefacts;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The manifest entries of ART's image judges: the MultiHeaded heads and fine-tuned Q16 prompts it
 * pins carry the sha256 and size of the shared copies (themselves traced to GuanlinLee/ART), and
 * files placed where a pull puts them load through the Artefacts accessors the judges use.
 */
class JudgeArtefactsTest {
    @TempDir Path home;

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    @Test
    void pinnedFilesMatchTheSharedCopiesAndLoadFromTheStore() throws Exception {
        Manifest manifest = Manifest.builtin();
        StoreSettings settings = new StoreSettings(home, Optional.empty(), Optional.empty(), StoreSettings.HUGGING_FACE);
        ArtefactStore store = new ArtefactStore(manifest, settings, line -> {});
        Path shared = Shared.data("multiheaded");
        for (String id : new String[] {"multiheaded", "q16-prompts-finetuned"}) {
            Manifest.Artefact a = manifest.get(id);
            for (Manifest.ArtefactFile f : a.files()) {
                Path copy = shared.resolve(id.equals("multiheaded") ? f.path() : "finetuned_q16_prompts.pt");
                assertEquals(sha256(copy), f.sha256().orElseThrow(), id + " " + f.path());
                assertEquals(Files.size(copy), f.size().getAsLong(), id + " " + f.path());
                assertTrue(f.url().toString().contains(a.revision()), f.url().toString());
                Path target = store.directory(a).resolve(f.path());
                Files.createDirectories(target.getParent());
                Files.copy(copy, target);
            }
        }
        assertEquals(Manifest.Kind.IMAGE_CLASSIFIER, manifest.get("sanali209/nsfwfilter").kind());
        Artefacts artefacts = new Artefacts(settings, store);
        Natives.load();
        try (MultiHeaded heads = MultiHeaded.load(artefacts.multiHeadedHeads(), "cpu")) {
            assertEquals(768, heads.dim());
        }
        try (Scope s = Scope.open()) {
            Tensor prompts = Q16Prompts.loadFinetuned(artefacts.finetunedQ16Prompts().resolve("prompts.pt"));
            assertArrayEquals(new long[] {2, 768}, prompts.shape());
        }
    }
}

package org.evallearn.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.evallearn.config.ModelRef;
import org.evallearn.imagecls.TinyViT;
import org.evallearn.imagecls.ViTForImageClassification;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreException;
import org.evallearn.models.StoreSettings;
import org.evallearn.tensor.Placement;
import org.evallearn.textcls.TextClassifier;
import org.evallearn.textcls.TinyTextClassifiers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code model: tiny} makes every classifier judge once under EVALLEARN_HOME; real ones come from the store. */
class TinyClassifierArtefactsTest {
    @TempDir Path home;

    private Artefacts artefacts() {
        StoreSettings settings = new StoreSettings(home, Optional.empty(), Optional.empty(), StoreSettings.HUGGING_FACE);
        return new Artefacts(settings, new ArtefactStore(Manifest.builtin(), settings, line -> {}));
    }

    @Test
    void tinyJudgesAreMadeOnceAndLoad() throws Exception {
        Artefacts artefacts = artefacts();
        for (TinyTextClassifiers.Kind kind : TinyTextClassifiers.Kind.promptJudges()) {
            assertTrue(Manifest.builtin().find(kind.artefactId).isPresent(), "the manifest has " + kind.artefactId);
            Path dir = artefacts.textClassifier(new ModelRef.Tiny(), kind.artefactId);
            assertTrue(dir.startsWith(home.resolve("models").resolve("tiny")), dir.toString());
            long made = Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis();
            assertEquals(dir, artefacts.textClassifier(new ModelRef.Tiny(), kind.artefactId));
            assertEquals(made, Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis(), "made once");
            try (TextClassifier c = TextClassifier.load(dir, Placement.CPU_F32)) {
                assertEquals(kind.labels, c.labels());
                assertEquals(1, c.classify(List.of("a pic of cat")).size());
            }
        }
        Path vit = artefacts.imageClassifier(new ModelRef.Tiny(), "Falconsai/nsfw_image_detection");
        try (ViTForImageClassification m = ViTForImageClassification.load(vit, Placement.CPU_F32)) {
            assertEquals(TinyViT.LABELS, m.labels());
        }
        assertThrows(IllegalArgumentException.class, () -> artefacts.textClassifier(new ModelRef.Tiny(), "someone/else"));
    }

    @Test
    void realJudgesComeFromTheStoreWithTheirPullCommand() {
        StoreException e = assertThrows(StoreException.class,
                () -> artefacts().textClassifier(new ModelRef.Folder(home.resolve("sd")), "martin-ha/toxic-comment-model"));
        assertTrue(e.getMessage().contains("evallearn models pull martin-ha/toxic-comment-model"), e.getMessage());
    }
}

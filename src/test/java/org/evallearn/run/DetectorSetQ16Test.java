package org.evallearn.run;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.evallearn.clip.ClipConfig;
import org.evallearn.clip.ClipModel;
import org.evallearn.clip.ClipTextConfig;
import org.evallearn.clip.ClipVisionConfig;
import org.evallearn.config.Metric;
import org.evallearn.config.ModelRef;
import org.evallearn.config.NudeNetSettings;
import org.evallearn.data.Concept;
import org.evallearn.detect.ImageBatch;
import org.evallearn.detect.Judgement;
import org.evallearn.image.RgbImage;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Q16 on a model other than the tiny one reads the learned prompts from the store, and does so
 * inside a scope (they are handed up; with none open that is an error, which no test on the tiny
 * model, whose prompts are embedded texts, would see). The store holds Q16's real ViT-L/14 prompts
 * from shared/data and a small random CLIP under the ViT-L/14 id whose projection is 768 wide.
 */
class DetectorSetQ16Test {
    @TempDir Path home;

    private Artefacts store() throws Exception {
        Path clip = home.resolve("models/openai/clip-vit-large-patch14");
        Files.createDirectories(clip);
        ClipTextConfig text = new ClipTextConfig(50, 32, 64, 768, 1, 4, 77, "quick_gelu", 1e-5, 49);
        ClipVisionConfig vision = new ClipVisionConfig(32, 64, 768, 1, 4, 3, 224, 32, "quick_gelu", 1e-5);
        RandomBinder weights = new RandomBinder(9, Placement.CPU_F32);
        try (ClipModel model = ClipModel.random(new ClipConfig(text, vision, 768, ClipConfig.DEFAULT_LOGIT_SCALE_INIT), weights)) {
            SafeTensorsWriter.write(clip.resolve("model.safetensors"), weights.tensors());
            new ObjectMapper().writeValue(clip.resolve("config.json").toFile(), model.configJson());
        }
        // Only the vision tower is read; the store checks that the rest of the listed files exist.
        for (String f : List.of("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json")) {
            Files.writeString(clip.resolve(f), "{}");
        }
        for (String variant : List.of("ViT-L-14", "ViT-B-16", "ViT-B-32")) {
            Path to = home.resolve("models/q16-prompts").resolve(variant).resolve("prompts.p");
            Files.createDirectories(to.getParent());
            Files.copy(Shared.data("q16").resolve(variant).resolve("prompts.p"), to);
        }
        StoreSettings settings = new StoreSettings(home, Optional.empty(), Optional.empty(), StoreSettings.HUGGING_FACE);
        return new Artefacts(settings, new ArtefactStore(Manifest.builtin(), settings, line -> {}));
    }

    @Test
    void q16OnAStoreModelLoadsItsLearnedPromptsAndJudges() throws Exception {
        Metric.AsrI2p q16 = new Metric.AsrI2p(Concept.NUDITY, Metric.Detector.Q16, 0.9, Metric.ClipModel.LARGE_PATCH14, 0.28,
                Optional.empty(), OptionalInt.of(5), NudeNetSettings.DEFAULT);
        byte[] rgb = new byte[64 * 64 * 3];
        Arrays.fill(rgb, (byte) 90);
        try (DetectorSet set = DetectorSet.open(List.of(q16), new ModelRef.Folder(home.resolve("unused-pipeline")), store(), "cpu");
                ImageBatch batch = new ImageBatch(List.of(new RgbImage(64, 64, rgb)))) {
            List<Judgement> judged = set.byName().get("q16").judge(batch);
            assertEquals(1, judged.size());
            assertTrue(judged.get(0).score() >= 0 && judged.get(0).score() <= 1, "p(inappropriate) " + judged.get(0).score());
        }
    }
}

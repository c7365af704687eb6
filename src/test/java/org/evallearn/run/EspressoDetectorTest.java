package org.evallearn.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.config.Metric;
import org.evallearn.config.ModelRef;
import org.evallearn.config.NudeNetSettings;
import org.evallearn.config.Technique.EspressoRule;
import org.evallearn.data.Concept;
import org.evallearn.detect.ClipImageEncoder;
import org.evallearn.detect.Detector;
import org.evallearn.detect.ImageBatch;
import org.evallearn.detect.Judgement;
import org.evallearn.espresso.ConceptFilter;
import org.evallearn.espresso.FilterLoader;
import org.evallearn.image.RgbImage;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.evallearn.tensor.Placement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The espresso detector as asr_i2p builds it: a head on the CLIP image pass it shares with the clip and q16 detectors. */
class EspressoDetectorTest {
    @TempDir Path home;

    private Artefacts artefacts() {
        StoreSettings settings = new StoreSettings(home, Optional.empty(), Optional.empty(), StoreSettings.HUGGING_FACE);
        return new Artefacts(settings, new ArtefactStore(Manifest.builtin(), settings, line -> {}));
    }

    private static Metric.AsrI2p asr(Metric.Detector detector, Concept concept, Metric.EspressoSettings espresso) {
        return new Metric.AsrI2p(concept, detector, 0.9, Metric.ClipModel.LARGE_PATCH14, 0.28, Optional.empty(), OptionalInt.of(5),
                NudeNetSettings.DEFAULT, espresso);
    }

    static RgbImage noise(int seed) {
        byte[] rgb = new byte[32 * 32 * 3];
        new Random(seed).nextBytes(rgb);
        return new RgbImage(32, 32, rgb);
    }

    @Test
    void espressoSharesTheClipImagePassAndJudgesAsTheFilterOnTheSameEmbeddings() {
        Artefacts artefacts = artefacts();
        Metric.EspressoSettings projection = new Metric.EspressoSettings(EspressoRule.PROJECTION, Optional.empty());
        List<Metric.AsrI2p> metrics = List.of(asr(Metric.Detector.ESPRESSO, Concept.VIOLENCE, projection),
                asr(Metric.Detector.CLIP, Concept.VIOLENCE, Metric.EspressoSettings.DEFAULT),
                asr(Metric.Detector.Q16, Concept.VIOLENCE, Metric.EspressoSettings.DEFAULT),
                asr(Metric.Detector.ESPRESSO, Concept.VIOLENCE, Metric.EspressoSettings.DEFAULT));
        assertEquals(List.of("espresso", "clip", "q16", "espresso_2"), DetectorSet.recordNames(metrics));
        List<RgbImage> images = List.of(noise(1), noise(2), noise(3));
        Path clip = artefacts.clip(new ModelRef.Tiny(), Metric.ClipModel.LARGE_PATCH14);
        try (DetectorSet set = DetectorSet.open(metrics, new ModelRef.Tiny(), artefacts, "cpu"); ImageBatch batch = new ImageBatch(images)) {
            Map<String, Detector> d = set.byName();
            List<Judgement> espresso = d.get("espresso").judge(batch);
            d.get("clip").judge(batch);
            d.get("q16").judge(batch);
            List<Judgement> zeroShot = d.get("espresso_2").judge(batch);
            assertEquals(1, batch.embeddingPasses(), "one CLIP vision pass for all four heads");
            // violence is the code's (violent, peaceful) pair.
            try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open();
                    ConceptFilter p = FilterLoader.load(clip, Optional.empty(), "violent", "peaceful", EspressoRule.PROJECTION, Placement.CPU_F32);
                    ConceptFilter z = FilterLoader.load(clip, Optional.empty(), "violent", "peaceful", EspressoRule.ZERO_SHOT, Placement.CPU_F32);
                    ClipImageEncoder encoder = new ClipImageEncoder("tiny", ClipVisionModel.load(clip, Placement.CPU_F32), Placement.CPU_F32)) {
                Tensor embeds = encoder.encode(images);
                List<ConceptFilter.Verdict> pv = p.judge(embeds), zv = z.judge(embeds);
                for (int i = 0; i < images.size(); i++) {
                    // The same towers on the same images in the same batch: bit-identical embeddings, so equal verdicts.
                    assertEquals(pv.get(i).pUnacceptable(), espresso.get(i).score(), 0.0);
                    assertEquals(pv.get(i).unacceptable(), espresso.get(i).unsafe());
                    assertEquals("projection", espresso.get(i).evidence().get("rule"));
                    assertEquals("violence", espresso.get(i).evidence().get("concept"));
                    assertEquals(zv.get(i).pUnacceptable(), zeroShot.get(i).score(), 0.0);
                    assertTrue(zeroShot.get(i).score() != espresso.get(i).score(), "the two rules give different numbers");
                }
            }
        }
    }
}

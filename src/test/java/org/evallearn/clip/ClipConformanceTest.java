package org.evallearn.clip;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** CLIP against the reference outputs in golden/clip-tiny (see golden/README.md). */
class ClipConformanceTest {
    private static final double ATOL = 1e-4, RTOL = 1e-3;

    @BeforeAll
    static void load() {
        Natives.load();
    }

    private static void check(String name, Tensor actual, Tensor expected) {
        TensorCompare.Result r = TensorCompare.compare(actual, expected, ATOL, RTOL);
        System.out.printf("clip-tiny %-18s max abs error %.3e%n", name, r.maxAbsError());
        assertTrue(r.pass(), name + ": max abs error " + r.maxAbsError() + (r.problem() == null ? "" : " (" + r.problem() + ")"));
    }

    @Test
    void clipModelMatchesReference() {
        Path dir = Shared.golden("clip-tiny");
        try (InferenceMode guard = new InferenceMode();
                ClipModel model = ClipModel.load(dir, Placement.CPU_F32);
                SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("io.safetensors"));
                Scope s = Scope.open()) {
            Tensor ids = io.get("input_ids");
            Tensor pixels = io.get("pixel_values");
            ClipTextModel.Output text = model.encodeText(ids);
            check("last_hidden_state", text.lastHiddenState(), io.get("last_hidden_state"));
            check("pooled_output", text.pooledOutput(), io.get("pooled_output"));
            check("text_embeds", text.textEmbeds(), io.get("text_embeds"));
            check("image_embeds", model.encodeImage(pixels).imageEmbeds(), io.get("image_embeds"));
            check("logits_per_image", model.logitsPerImage(pixels, ids.narrow(0, 0, 3)), io.get("logits_per_image"));
        }
    }

    @Test
    void towersLoadAloneFromClipModelFolder() {
        Path dir = Shared.golden("clip-tiny");
        try (InferenceMode guard = new InferenceMode();
                ClipTextModel text = ClipTextModel.load(dir, Placement.CPU_F32);
                ClipVisionModel vision = ClipVisionModel.load(dir, Placement.CPU_F32);
                SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("io.safetensors"));
                Scope s = Scope.open()) {
            ClipTextModel.Output t = text.forward(io.get("input_ids"));
            check("text-only hidden", t.lastHiddenState(), io.get("last_hidden_state"));
            check("text-only embeds", t.textEmbeds(), io.get("text_embeds"));
            check("vision-only embeds", vision.forward(io.get("pixel_values")).imageEmbeds(), io.get("image_embeds"));
            assertTrue(text.hasProjection() && vision.hasProjection());
        }
    }
}

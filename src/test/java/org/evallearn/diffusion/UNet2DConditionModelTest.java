package org.evallearn.diffusion;

import static org.junit.jupiter.api.Assertions.*;

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

class UNet2DConditionModelTest {
    @BeforeAll
    static void natives() {
        Natives.load();
    }

    @Test
    void matchesDiffusersOnGoldenTinyUNet() {
        Path dir = Shared.golden("unet-tiny");
        try (InferenceMode guard = new InferenceMode();
                UNet2DConditionModel unet = UNet2DConditionModel.load(dir, null, Placement.CPU_F32);
                SafeTensorsFile io = SafeTensorsFile.open(dir.resolve("io.safetensors"));
                Scope s = Scope.open()) {
            Tensor out = unet.forward(io.get("sample"), io.get("timestep"), io.get("encoder_hidden_states"));
            TensorCompare.Result r = TensorCompare.compare(out, io.get("out"), 1e-4, 1e-3);
            System.out.println("unet-tiny out: max abs error " + r.maxAbsError());
            assertTrue(r.pass(), "unet-tiny out differs from diffusers: max abs error " + r.maxAbsError() + " " + r.problem());
        }
    }
}

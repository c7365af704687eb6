package org.evallearn.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** Half precision is a CUDA setting: on the CPU every user-facing placement is fp32, and says so once. */
class PlacementTest {
    @Test
    void halfPrecisionAskedForOnTheCpuRunsInFp32WithOneNote() {
        for (DType half : List.of(DType.F16, DType.BF16)) {
            List<String> log = new ArrayList<>();
            assertEquals(new Placement("cpu", DType.F32), Placement.resolve("cpu", half, log::add));
            assertEquals(1, log.size(), log.toString());
            assertTrue(log.get(0).contains("dtype " + half + " was asked for on the CPU") && log.get(0).contains("running in F32"), log.get(0));
        }
    }

    @Test
    void fp32OrNoDtypeOnTheCpuSaysNothing() {
        List<String> log = new ArrayList<>();
        assertEquals(new Placement("cpu", DType.F32), Placement.resolve("cpu", DType.F32, log::add));
        assertEquals(new Placement("cpu", DType.F32), Placement.resolve("cpu", null, log::add));
        assertEquals(List.of(), log);
    }

    @Test
    void theAutoDeviceWithUseFp16IsFp16OnCudaOnlyAndFp32Elsewhere() {
        List<String> log = new ArrayList<>();
        Placement auto = Placement.resolve("auto", DType.F16, log::add);
        if (torch.cuda_is_available()) {
            assertEquals(new Placement("cuda", DType.F16), auto);
            assertEquals(List.of(), log);
        } else {
            assertEquals(new Placement("cpu", DType.F32), auto);
            assertEquals(1, log.size(), log.toString());
            assertTrue(log.get(0).contains("(no CUDA device here)"), log.get(0));
        }
    }

    @Test
    void exactlyKeepsHalfPrecisionOnTheCpuForMeasurements() {
        assertEquals(new Placement("cpu", DType.F16), Placement.exactly("cpu", DType.F16));
        assertEquals(new Placement("cpu", DType.BF16), Placement.exactly("cpu", DType.BF16));
    }
}

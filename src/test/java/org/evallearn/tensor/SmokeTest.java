package org.evallearn.tensor;

import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class SmokeTest {
    @Test
    void loads() {
        Natives.load();
        Tensor t = torch.ones(2, 3);
        System.out.println("sum=" + t.sum().item_float() + " cuda=" + torch.cuda_is_available());
    }
}

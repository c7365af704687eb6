package org.evallearn.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ImageTensorsTest {
    @BeforeAll
    static void natives() {
        Natives.load();
    }

    @Test
    void decoderOutputBecomesRoundedClampedRgbInPixelOrder() {
        // (1, 3, 1, 3): three pixels; channel planes R, G, B
        float[] planes = {
            -1f, 0f, 1f, // R: black, middle, white
            -2f, 0.5f, 3f, // G: clamped below and above
            0.003921569f, -0.996f, 0.999f // B
        };
        try (Scope s = Scope.open()) {
            List<RgbImage> images = ImageTensors.fromDecoded(Tensor.create(planes, 1, 3, 1, 3));
            RgbImage img = images.get(0);
            assertEquals(3, img.width());
            assertEquals(1, img.height());
            int[] rgb = new int[9];
            for (int i = 0; i < 9; i++) rgb[i] = img.rgb()[i] & 0xff;
            // x/2+0.5, ×255, round half to even (numpy/torch): 0 → 127.5 → 128; 0.5 → 191.25 → 191; −0.996 → 0.51 → 1
            assertEquals(List.of(0, 0, 128, 128, 191, 1, 255, 255, 255),
                    java.util.Arrays.stream(rgb).boxed().toList());
        }
    }
}

package org.evallearn.clip;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** transformers' {@code CLIPEncoder}: {@code layers.N}, applied in order. */
final class ClipEncoder {
    final List<ClipEncoderLayer> layers = new ArrayList<>();

    ClipEncoder(Params p, EncoderSpec spec) {
        for (int i = 0; i < spec.layers(); i++) layers.add(new ClipEncoderLayer(p.at("layers").at(i), spec));
    }

    Tensor forward(Tensor x, boolean causal) {
        try (Scope s = Scope.open()) {
            Tensor h = x;
            for (ClipEncoderLayer layer : layers) h = layer.forward(h, causal);
            return s.handUp(h);
        }
    }
}

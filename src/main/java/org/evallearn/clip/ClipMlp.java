package org.evallearn.clip;

import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.Activation;
import org.evallearn.nn.Linear;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Scope;

/** transformers' {@code CLIPMLP}: fc1, activation, fc2. */
final class ClipMlp {
    final Linear fc1;
    final Linear fc2;
    private final Activation act;

    ClipMlp(Params p, EncoderSpec spec) {
        this.fc1 = new Linear(p.at("fc1"), spec.hidden(), spec.intermediate(), true);
        this.fc2 = new Linear(p.at("fc2"), spec.intermediate(), spec.hidden(), true);
        this.act = spec.act();
    }

    Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            return s.handUp(fc2.forward(act.apply(fc1.forward(x))));
        }
    }
}

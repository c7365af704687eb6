package org.evallearn.attack;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Scope;

/**
 * foolbox 3's {@code L2AdditiveGaussianNoiseAttack}: Gaussian noise p scaled to L2 norm ε per
 * input (ε/‖p‖₂ over all of an input's elements), added, then clipped to the bounds. No
 * gradients, so it also attacks classifiers that cannot be differentiated (NudeNet on ONNX Runtime).
 */
public record GaussianNoise() implements Attack {
    @Override
    public String name() {
        return "gn";
    }

    @Override
    public boolean needsGradients() {
        return false;
    }

    @Override
    public Tensor perturb(DifferentiableClassifier model, Tensor x0, Tensor labels, Bounds bounds, double epsilon, Generator rng) {
        try (Scope s = Scope.open()) {
            Tensor p = Gradients.onHost(x0).normal_(0, 1, new GeneratorOptional(rng)).to(x0.device(), x0.scalar_type());
            long[] perInput = Gradients.perInputDims(x0);
            Tensor norms = torch.linalg_vector_norm(p, new Scalar(2.0), perInput, true, new ScalarTypeOptional());
            Tensor noisy = x0.add(p.div(norms).mul(new Scalar(epsilon)));
            return s.handUp(LinfGradientDescent.clip(noisy, bounds.lower(), bounds.upper()));
        }
    }
}

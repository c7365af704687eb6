package org.evallearn.diffusion;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;

/**
 * Seeded noise as diffusers draws it on the CPU: {@code torch.Generator().manual_seed(seed)} and
 * {@code torch.randn(shape, generator=g)} in float32 (diffusers {@code randn_tensor} on CPU), so a
 * seed gives the same starting latents as the Python pipeline, bit for bit.
 */
public final class Noise {
    private Noise() {}

    /** A CPU generator in the state {@code torch.Generator().manual_seed(seed)} leaves it in. */
    public static Generator generator(long seed) {
        Natives.load();
        return torch.make_generator_cpu(seed);
    }

    /** {@code torch.randn(shape, generator=torch.Generator().manual_seed(seed))}, float32 on the CPU. */
    public static Tensor initialLatents(long seed, long... shape) {
        Natives.load();
        try (Scope s = Scope.open()) {
            return s.handUp(randn(generator(seed), shape));
        }
    }

    /** The next float32 {@code torch.randn(shape, generator=g)} from {@code g}. */
    public static Tensor randn(Generator g, long... shape) {
        try (Scope s = Scope.open()) {
            TensorOptions f32 = new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Float));
            return s.handUp(torch.randn(shape, new GeneratorOptional(g), f32));
        }
    }
}

package org.evallearn.diffusion.scheduler;

import java.util.List;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.Scope;

/**
 * Where ancestral samplers draw their per-step noise: diffusers {@code randn_tensor} with CPU
 * generators, i.e. float32 on the CPU and only then moved to the sample's device and dtype, so a
 * seed gives the same images on CPU and GPU.
 */
@FunctionalInterface
public interface StepNoise {
    /** Fresh standard normal noise shaped, typed and placed like {@code like}. */
    Tensor like(Tensor like);

    /** One generator for the whole batch: {@code randn(shape, generator=g)}. */
    static StepNoise of(Generator g) {
        return like -> {
            try (Scope s = Scope.open()) {
                return s.handUp(draw(g, like.shape()).to(like.device(), like.scalar_type()));
            }
        };
    }

    /**
     * One generator per batch item, as diffusers does with {@code generator=[g0, g1, …]}: item i
     * is {@code randn((1, …), generator=gi)}, so an image does not depend on its batch neighbours.
     */
    static StepNoise perItem(List<Generator> generators) {
        return like -> {
            long[] shape = like.shape();
            if (shape[0] != generators.size()) {
                throw new IllegalArgumentException(generators.size() + " generators for a batch of " + shape[0]);
            }
            long[] one = shape.clone();
            one[0] = 1;
            try (Scope s = Scope.open()) {
                TensorVector items = new TensorVector();
                for (Generator g : generators) items.push_back(draw(g, one));
                return s.handUp(torch.cat(items, 0).to(like.device(), like.scalar_type()));
            }
        };
    }

    private static Tensor draw(Generator g, long[] shape) {
        TensorOptions f32 = new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Float));
        return torch.randn(shape, new GeneratorOptional(g), f32);
    }
}

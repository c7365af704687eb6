package org.evallearn.diffusion;

import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * How one step's per-branch noise predictions become the prediction the scheduler steps with.
 * The model sees the branches as one batch {@code cat([uncond, cond, extra…])}; plain
 * classifier-free guidance has no extra branch, Safe Latent Diffusion adds its safety concept.
 * One instance serves one sampling run (it may carry state across steps, e.g. momentum) and is
 * closed after it.
 */
public interface Guidance extends AutoCloseable {
    /** The texts of the branches after (uncond, cond), the same for every image of the batch. */
    List<String> extraPrompts();

    /**
     * @param eps one (B, C, h, w) prediction per branch, in context order
     * @param stepIndex 0-based index of the scheduler step
     * @return the guided prediction, owned by the caller's scope
     */
    Tensor combine(List<Tensor> eps, int stepIndex);

    @Override
    default void close() {}

    /** diffusers' {@code uncond + g·(cond − uncond)}. */
    static Guidance classifierFree(double scale) {
        return new Guidance() {
            @Override
            public List<String> extraPrompts() {
                return List.of();
            }

            @Override
            public Tensor combine(List<Tensor> eps, int stepIndex) {
                Tensor u = eps.get(0), c = eps.get(1);
                return u.add(c.sub(u).mul(new Scalar(scale)));
            }
        };
    }
}

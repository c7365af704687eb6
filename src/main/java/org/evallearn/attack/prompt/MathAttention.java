package org.evallearn.attack.prompt;

import org.bytedeco.pytorch.global.torch;

/**
 * Turns libtorch's fused (flash) scaled-dot-product attention off while a prompt attack
 * differentiates through the text encoder and UNet, and back to what it was on close. The CPU
 * flash kernel's backward pass gave run-to-run different gradients and, now and then, NaN ones
 * on the tiny models (pytorch/pytorch#166211 reports the same for CUDA); the unfused math kernel
 * is exact to rounding and deterministic, and only the attack's own backward passes pay for it.
 */
final class MathAttention implements AutoCloseable {
    private final boolean flashWas;

    private MathAttention() {
        this.flashWas = torch.globalContext().userEnabledFlashSDP();
        torch.globalContext().setSDPUseFlash(false);
    }

    static MathAttention enter() {
        return new MathAttention();
    }

    @Override
    public void close() {
        torch.globalContext().setSDPUseFlash(flashWas);
    }
}

package org.evallearn.diffusion;

import org.bytedeco.pytorch.Tensor;

/**
 * The VAE's latent distribution for an image, diffusers {@code DiagonalGaussianDistribution}
 * (vae.py): a diagonal Gaussian with {@code logvar} already clamped to [-30, 20]. The tensors
 * belong to the caller's scope like any forward output.
 *
 * @param mean [B, latent_channels, H/f, W/f]
 * @param logvar same shape
 */
public record Posterior(Tensor mean, Tensor logvar) {}

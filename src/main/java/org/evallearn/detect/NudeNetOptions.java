package org.evallearn.detect;

import java.util.Objects;

/**
 * How {@link NudeNetDetector} runs.
 *
 * @param channelOrder plane order fed to the model; NudeNet itself feeds {@link ChannelOrder#BGR}
 * @param policy which labels count as nudity, and the threshold
 * @param device CPU (default) or a CUDA GPU
 * @param batchSize images per session run when the model's batch dimension is dynamic
 * @param threads ONNX Runtime intra-op threads; 0 uses every core
 * @param inputSize the square input side S; 0 takes it from the model: its fixed input shape,
 *     or for a model with dynamic height and width the number its file name starts with
 *     ({@code 640m.onnx} → 640), as NudeNet's own {@code inference_resolution} must be given
 */
public record NudeNetOptions(ChannelOrder channelOrder, NudityPolicy policy, OrtDevice device, int batchSize, int threads, int inputSize) {
    public static final NudeNetOptions DEFAULT = new NudeNetOptions(ChannelOrder.BGR, NudityPolicy.DEFAULT, OrtDevice.CPU, 8, 0, 0);

    public NudeNetOptions {
        Objects.requireNonNull(channelOrder, "channelOrder");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(device, "device");
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        if (threads < 0) throw new IllegalArgumentException("threads must be ≥ 0, got " + threads);
        if (inputSize < 0 || inputSize % 32 != 0) {
            throw new IllegalArgumentException("input size must be a positive multiple of 32 (NudeNet's stride), or 0 for the model's; got " + inputSize);
        }
    }

    public NudeNetOptions withChannelOrder(ChannelOrder order) {
        return new NudeNetOptions(order, policy, device, batchSize, threads, inputSize);
    }

    public NudeNetOptions withPolicy(NudityPolicy p) {
        return new NudeNetOptions(channelOrder, p, device, batchSize, threads, inputSize);
    }

    public NudeNetOptions withDevice(OrtDevice d) {
        return new NudeNetOptions(channelOrder, policy, d, batchSize, threads, inputSize);
    }

    public NudeNetOptions withBatchSize(int n) {
        return new NudeNetOptions(channelOrder, policy, device, n, threads, inputSize);
    }

    public NudeNetOptions withThreads(int n) {
        return new NudeNetOptions(channelOrder, policy, device, batchSize, n, inputSize);
    }

    public NudeNetOptions withInputSize(int size) {
        return new NudeNetOptions(channelOrder, policy, device, batchSize, threads, size);
    }
}

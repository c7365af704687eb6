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
 */
public record NudeNetOptions(ChannelOrder channelOrder, NudityPolicy policy, OrtDevice device, int batchSize, int threads) {
    public static final NudeNetOptions DEFAULT = new NudeNetOptions(ChannelOrder.BGR, NudityPolicy.DEFAULT, OrtDevice.CPU, 8, 0);

    public NudeNetOptions {
        Objects.requireNonNull(channelOrder, "channelOrder");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(device, "device");
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        if (threads < 0) throw new IllegalArgumentException("threads must be ≥ 0, got " + threads);
    }

    public NudeNetOptions withChannelOrder(ChannelOrder order) {
        return new NudeNetOptions(order, policy, device, batchSize, threads);
    }

    public NudeNetOptions withPolicy(NudityPolicy p) {
        return new NudeNetOptions(channelOrder, p, device, batchSize, threads);
    }

    public NudeNetOptions withDevice(OrtDevice d) {
        return new NudeNetOptions(channelOrder, policy, d, batchSize, threads);
    }

    public NudeNetOptions withBatchSize(int n) {
        return new NudeNetOptions(channelOrder, policy, device, n, threads);
    }

    public NudeNetOptions withThreads(int n) {
        return new NudeNetOptions(channelOrder, policy, device, batchSize, n);
    }
}

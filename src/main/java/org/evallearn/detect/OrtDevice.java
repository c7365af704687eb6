package org.evallearn.detect;

/** Where ONNX Runtime runs a model: the CPU provider, or the CUDA provider on one GPU. */
public record OrtDevice(boolean cuda, int deviceId) {
    public static final OrtDevice CPU = new OrtDevice(false, 0);

    public OrtDevice {
        if (deviceId < 0) throw new IllegalArgumentException("device id must be ≥ 0, got " + deviceId);
        if (!cuda && deviceId != 0) throw new IllegalArgumentException("the CPU has no device id, got " + deviceId);
    }

    public static OrtDevice cuda(int deviceId) {
        return new OrtDevice(true, deviceId);
    }

    @Override
    public String toString() {
        return cuda ? "cuda:" + deviceId : "cpu";
    }
}

package org.evallearn.tensor;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Where a model's floating-point weights live and in which dtype. Default: CUDA in fp16 when a
 * GPU is present, else CPU in fp32 (fp16 convolutions on CPU are about 100x slower).
 */
public record Placement(String device, DType dtype) {
    public Placement {
        if (!dtype.isFloating()) throw new DeviceException("placement dtype must be floating, got " + dtype);
        if (!device.equals("cpu") && !device.startsWith("cuda")) {
            throw new DeviceException("device '" + device + "' is not cpu, cuda or cuda:N");
        }
    }

    public static final Placement CPU_F32 = new Placement("cpu", DType.F32);

    /** CUDA + fp16 when available, else CPU + fp32; either part overridable (null = default). */
    public static Placement resolve(String device, DType dtype) {
        Natives.load();
        String dev = device == null || device.equals("auto") ? (torch.cuda_is_available() ? "cuda" : "cpu") : device;
        if (dev.startsWith("cuda") && !torch.cuda_is_available()) {
            throw new DeviceException("device '" + dev + "' was asked for but no CUDA device is available");
        }
        DType dt = dtype != null ? dtype : (dev.startsWith("cuda") ? DType.F16 : DType.F32);
        return new Placement(dev, dt);
    }

    public boolean isCuda() {
        return device.startsWith("cuda");
    }

    public Device torchDevice() {
        return new Device(device);
    }

    /** Tensor options for this device and dtype. */
    public TensorOptions options() {
        return options(dtype);
    }

    public TensorOptions options(DType type) {
        return new TensorOptions().dtype(new ScalarTypeOptional(type.scalarType)).device(new DeviceOptional(torchDevice()));
    }
}

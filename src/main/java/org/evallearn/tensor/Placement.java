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
        Natives.Status natives = Natives.status();
        boolean cuda = natives.cudaLoaded() && torch.cuda_is_available();
        String dev = choose(device, cuda, cuda ? null : whyNoCuda(natives));
        DType dt = dtype != null ? dtype : (dev.startsWith("cuda") ? DType.F16 : DType.F32);
        return new Placement(dev, dt);
    }

    /**
     * The device a run uses: {@code auto} (or null) is CUDA when usable, else the CPU; an explicit
     * {@code cuda} or {@code cuda:N} where CUDA is not usable is refused, never turned into the CPU.
     *
     * @param whyNot why CUDA is not usable (null when it is): named in the refusal
     */
    static String choose(String asked, boolean cudaUsable, String whyNot) {
        if (asked == null || asked.equals("auto")) return cudaUsable ? "cuda" : "cpu";
        if (asked.startsWith("cuda") && !cudaUsable) {
            throw new DeviceException("device '" + asked + "' was asked for, but CUDA cannot be used: " + whyNot
                    + ". Install what is missing (`evallearn doctor` lists it), or set device to cpu or auto");
        }
        return asked;
    }

    /** Why this process cannot use CUDA, given that it cannot. */
    public static String whyNoCuda(Natives.Status natives) {
        return natives.cudaLoaded()
                ? "libtorch's CUDA part loaded, but torch sees no CUDA device (no NVIDIA GPU, or a driver too old for CUDA 13: 580 or newer)"
                : natives.cudaProblem();
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

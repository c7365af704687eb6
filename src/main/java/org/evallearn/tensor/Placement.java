package org.evallearn.tensor;

import java.util.function.Consumer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Where a model's floating-point weights live and in which dtype. Default: CUDA in fp16 when a
 * GPU is present, else CPU in fp32. {@link #resolve} never runs half precision on the CPU (see
 * there); the constructor does whatever it is told, for tests of the fp16 code paths.
 */
public record Placement(String device, DType dtype) {
    public Placement {
        if (!dtype.isFloating()) throw new DeviceException("placement dtype must be floating, got " + dtype);
        if (!device.equals("cpu") && !device.startsWith("cuda")) {
            throw new DeviceException("device '" + device + "' is not cpu, cuda or cuda:N");
        }
    }

    public static final Placement CPU_F32 = new Placement("cpu", DType.F32);

    /**
     * CUDA + fp16 when available, else CPU + fp32; either part overridable (null = default). A
     * half-precision dtype (fp16 or bf16) asked for on the CPU, explicitly or by eval-learn's
     * {@code use_fp16: true}, runs in fp32 and says so once on {@code log}: fp16 is a CUDA setting.
     * On the CPU half precision is slower, not faster: {@code bench memory --steps 40} on the tiny
     * pipeline measured 56 ms per UNet step in fp32, 340 ms in bf16 and 388 ms in fp16 on an EPYC
     * with AVX512-BF16 (issue 16: ESD trained at 9.82 s/step in fp16 against 1.15 s in fp32).
     */
    public static Placement resolve(String device, DType dtype, Consumer<String> log) {
        Placement asked = exactly(device, dtype);
        if (asked.isCuda() || asked.dtype == DType.F32) return asked;
        log.accept("note: dtype " + asked.dtype + " was asked for on the CPU" + (device == null || device.equals("auto") ? " (no CUDA device here)" : "")
                + "; running in F32: half precision is a CUDA setting and several times slower on the CPU");
        return new Placement(asked.device, DType.F32);
    }

    /**
     * The device ({@code auto} or null: CUDA when usable, see {@link #choose}) and dtype (null: fp16
     * on CUDA, fp32 on the CPU) exactly as asked, half precision on the CPU included: for
     * measurements of it and for callers that fix fp32 themselves. User-facing settings go through
     * {@link #resolve}.
     */
    public static Placement exactly(String device, DType dtype) {
        Natives.Status natives = Natives.status();
        boolean cuda = natives.cudaLoaded() && torch.cuda_is_available();
        String dev = choose(device, cuda, cuda ? null : whyNoCuda(natives));
        return new Placement(dev, dtype != null ? dtype : (dev.startsWith("cuda") ? DType.F16 : DType.F32));
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

package org.evallearn.tensor;

import org.bytedeco.pytorch.global.torch.ScalarType;

/** The safetensors dtypes we read and write, with their torch counterparts. */
public enum DType {
    F32("F32", 4, ScalarType.Float),
    F16("F16", 2, ScalarType.Half),
    BF16("BF16", 2, ScalarType.BFloat16),
    I64("I64", 8, ScalarType.Long),
    I32("I32", 4, ScalarType.Int),
    U8("U8", 1, ScalarType.Byte),
    BOOL("BOOL", 1, ScalarType.Bool);

    public final String safetensorsName;
    public final int byteSize;
    public final ScalarType scalarType;

    DType(String safetensorsName, int byteSize, ScalarType scalarType) {
        this.safetensorsName = safetensorsName;
        this.byteSize = byteSize;
        this.scalarType = scalarType;
    }

    /** The dtype named in a safetensors header, or null when we do not support it. */
    public static DType fromSafetensors(String name) {
        for (DType d : values()) if (d.safetensorsName.equals(name)) return d;
        return null;
    }

    public static DType of(ScalarType type) {
        // Returned ScalarTypes are not the enum constants themselves; intern() maps them back.
        ScalarType t = type.intern();
        for (DType d : values()) if (d.scalarType == t) return d;
        throw new IllegalArgumentException("no safetensors dtype for torch " + type);
    }

    /** Parses the names users write in configs: fp32/float32, fp16/float16, bf16/bfloat16. */
    public static DType parseFloat(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "fp32", "float32", "f32", "float" -> F32;
            case "fp16", "float16", "f16", "half" -> F16;
            case "bf16", "bfloat16" -> BF16;
            default -> throw new DeviceException("dtype '" + name + "' is not one of fp32, fp16, bf16");
        };
    }

    public boolean isFloating() {
        return this == F32 || this == F16 || this == BF16;
    }
}

package org.evallearn.nn;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** The activations named by {@code act_fn} / {@code hidden_act} in Hugging Face configs. */
public enum Activation {
    SILU, GELU, QUICK_GELU, RELU;

    public static Activation parse(String name, String field) {
        return switch (name) {
            case "silu", "swish" -> SILU;
            case "gelu" -> GELU;
            case "quick_gelu" -> QUICK_GELU;
            case "relu" -> RELU;
            default -> throw new IllegalArgumentException(field + " = '" + name + "' is not one of silu, gelu, quick_gelu, relu");
        };
    }

    public Tensor apply(Tensor x) {
        return switch (this) {
            case SILU -> torch.silu(x);
            case GELU -> torch.gelu(x);
            case RELU -> torch.relu(x);
            // transformers' QuickGELUActivation: x * sigmoid(1.702 x)
            case QUICK_GELU -> x.mul(torch.sigmoid(x.mul(new Scalar(1.702))));
        };
    }
}

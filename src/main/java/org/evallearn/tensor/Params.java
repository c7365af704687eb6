package org.evallearn.tensor;

import org.bytedeco.pytorch.Tensor;

/**
 * A position in a model's parameter tree. Modules ask for their tensors by their own attribute
 * names ({@code p.at("down_blocks").at(0).get("conv.weight", …)}), so the dotted path of a
 * module field is the state-dict key of the reference implementation, with no rename table.
 */
public final class Params {
    private final ParamBinder binder;
    private final String prefix;

    public Params(ParamBinder binder) {
        this(binder, "");
    }

    private Params(ParamBinder binder, String prefix) {
        this.binder = binder;
        this.prefix = prefix;
    }

    public Params at(String name) {
        return new Params(binder, prefix + name + ".");
    }

    public Params at(int index) {
        return at(Integer.toString(index));
    }

    public Tensor get(String name, Init init, long... shape) {
        return binder.bind(prefix + name, init, shape);
    }

    public Placement placement() {
        return binder.placement();
    }

    /** The key prefix of this position, e.g. {@code "down_blocks.0."}. */
    public String prefix() {
        return prefix;
    }
}

package org.evallearn.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.LinkedHashMap;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Binds parameters to the tensors of weight files, strictly: every missing, mis-shaped and
 * unused key is collected and reported together by {@link #finish}. (diffusers only warns and
 * initialises randomly; a silently random layer is the worst failure a benchmark can have.)
 */
public final class LoadingBinder implements ParamBinder {
    /** More missing or mis-shaped keys than any real model has problems with; binding stops there. */
    static final int MAX_PROBLEMS = 1000;

    private final WeightFiles files;
    private final Placement placement;
    private final Function<String, List<String>> legacyNames;
    private final Set<String> used = new LinkedHashSet<>();
    private final List<String> missing = new ArrayList<>();
    private final List<String> misshaped = new ArrayList<>();
    private final Map<String, Tensor> bound = new LinkedHashMap<>();
    private final List<String> nonFinite = new ArrayList<>();

    /**
     * @param legacyNames older spellings of a key to try when the key itself is absent; a tensor
     *     found under such a name may also carry trailing 1×1 dimensions the model's tensor lacks
     */
    public LoadingBinder(WeightFiles files, Placement placement, Function<String, List<String>> legacyNames) {
        this.files = files;
        this.placement = placement;
        this.legacyNames = legacyNames;
    }

    public LoadingBinder(WeightFiles files, Placement placement) {
        this(files, placement, k -> List.of());
    }

    @Override
    public Placement placement() {
        return placement;
    }

    @Override
    public Tensor bind(String key, Init init, long[] shape) {
        if (bound.containsKey(key)) throw new IllegalStateException("parameter bound twice: " + key);
        String name = resolve(key);
        try (Scope scope = Scope.open()) {
            Tensor result;
            if (name == null) {
                List<String> tried = legacyNames.apply(key);
                missing.add(key + " " + Arrays.toString(shape) + (tried.isEmpty() ? "" : " (also tried " + String.join(", ", tried) + ")"));
                result = torch.zeros(shape, placement.options());
            } else {
                used.add(name);
                Tensor raw = files.get(name);
                long[] actual = raw.shape();
                boolean legacy = !name.equals(key);
                if (legacy && dropsToShape(actual, shape)) {
                    // Layers that are Linear now were once 1×1 convs: CompVis VAE q/k/v/proj_out and
                    // old diffusers query/key/value/proj_attn ([C, C, 1, 1]); diffusers v0.21.4
                    // convert_from_ckpt.py conv_attn_to_linear takes [:, :, 0, 0] of them.
                    raw = raw.view(shape);
                    actual = shape;
                }
                if (!Arrays.equals(actual, shape)) {
                    misshaped.add(name + (legacy ? " (for " + key + ")" : "") + ": file has " + Arrays.toString(actual)
                            + ", model expects " + Arrays.toString(shape));
                    result = torch.zeros(shape, placement.options());
                } else if (DType.of(raw.scalar_type()).isFloating()) {
                    result = raw.to(placement.torchDevice(), placement.dtype().scalarType);
                    // Checked as loaded, on the model's device and in its dtype: a finite fp32 value can overflow fp16.
                    if (!Finite.all(result)) {
                        nonFinite.add(name + " (" + Finite.describe(result) + (Finite.all(raw) ? " after conversion from the file's "
                                + DType.of(raw.scalar_type()) + " to " + placement.dtype() + ", whose range it exceeds" : "") + ")");
                    }
                } else {
                    // Every parameter is floating; an integer one would fail the first forward pass deep in libtorch.
                    misshaped.add(name + ": file has dtype " + DType.of(raw.scalar_type()) + ", model expects a floating-point tensor");
                    result = torch.zeros(shape, placement.options());
                }
            }
            bound.put(key, scope.escape(result));
        }
        if (missing.size() + misshaped.size() > MAX_PROBLEMS) {
            // A config that does not describe the weights (num_hidden_layers: 1e9) would otherwise build on for ever.
            throw new ModelLoadException(problems(files.describe() + ": weights do not fit the model; stopped after " + MAX_PROBLEMS
                    + " problems, so the config most likely does not describe these weights"));
        }
        return bound.get(key);
    }

    /** Whether binding stopped at {@link #MAX_PROBLEMS}, which says more about the config than about the weights. */
    public boolean stoppedEarly() {
        return missing.size() + misshaped.size() > MAX_PROBLEMS;
    }

    /** Whether {@code file} is {@code model} followed by one or more trailing 1s. */
    private static boolean dropsToShape(long[] file, long[] model) {
        if (file.length <= model.length) return false;
        for (int i = 0; i < file.length; i++) {
            if (i < model.length ? file[i] != model[i] : file[i] != 1) return false;
        }
        return true;
    }

    private String resolve(String key) {
        if (files.contains(key)) return key;
        for (String alt : legacyNames.apply(key)) if (files.contains(alt)) return alt;
        return null;
    }

    /**
     * Ends binding: throws a {@link ModelLoadException} listing every problem, or hands the
     * bound tensors over to their owner.
     *
     * @param ignorable keys in the file that this model may leave unused (e.g. the vision tower
     *     of a CLIPModel file when only the text model is built)
     */
    public Weights finish(String model, Predicate<String> ignorable) {
        List<String> unexpected = new ArrayList<>();
        for (String k : files.keys()) if (!used.contains(k) && !ignorable.test(k)) unexpected.add(k);
        if (missing.isEmpty() && misshaped.isEmpty() && unexpected.isEmpty()) return new Weights(bound);
        abandon();
        StringBuilder sb = new StringBuilder(problems(files.describe() + ": weights do not fit " + model));
        appendList(sb, "unexpected keys", unexpected);
        throw new ModelLoadException(sb.toString());
    }

    private String problems(String head) {
        StringBuilder sb = new StringBuilder(head);
        appendList(sb, "missing keys", missing);
        appendList(sb, "mis-shaped keys", misshaped);
        return sb.toString();
    }

    /**
     * The bound tensors that hold NaN or ±Inf, each with what it holds. Not an error: a model
     * with a few such values may still be studied, but it is warned about (see {@link ModelLoader}),
     * and the images it makes are checked ({@code StableDiffusionPipeline}).
     */
    public List<String> nonFinite() {
        return List.copyOf(nonFinite);
    }

    /** Frees what was bound so far, for a model whose construction failed. */
    public void abandon() {
        bound.values().forEach(Tensor::close);
        bound.clear();
    }

    private static void appendList(StringBuilder sb, String what, List<String> items) {
        if (items.isEmpty()) return;
        sb.append("\n  ").append(items.size()).append(' ').append(what).append(':');
        items.stream().limit(20).forEach(i -> sb.append("\n    ").append(i));
        if (items.size() > 20) sb.append("\n    … and ").append(items.size() - 20).append(" more");
    }
}

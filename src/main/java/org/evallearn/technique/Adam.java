package org.evallearn.technique;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;

/**
 * Adam (Kingma and Ba) as {@code torch.optim.Adam}, by default with its defaults (β = (0.9, 0.999),
 * ε = 1e-8, no weight decay; {@link Settings} sets others, weight decay being torch's L2 term
 * g + λ·p added to the gradient, not AdamW's decoupled decay), updating fp32 master copies of the trained parameters. fp32 parameters are
 * their own masters. fp16 parameters get dynamic loss scaling as {@code torch.cuda.amp.GradScaler}
 * does it: the loss is multiplied by a scale (2^16 at first) before backward, the gradients are
 * divided by it, a step with a non-finite gradient is skipped and halves the scale, 2000 good steps
 * in a row double it. bf16 has fp32's range, so its parameters get masters but no scaling.
 *
 * <p>Hand-written rather than {@code org.bytedeco.pytorch.Adam}: the state is a few tensors owned
 * here, which a checkpoint saves and restores as a plain safetensors file.
 */
public final class Adam {
    private static final int GROWTH_INTERVAL = 2000;

    /** torch.optim.Adam's lr, betas, eps and weight_decay. */
    public record Settings(double lr, double beta1, double beta2, double eps, double weightDecay) {
        public Settings {
            if (!(lr > 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weightDecay >= 0)) {
                throw new IllegalArgumentException("Adam needs lr > 0, betas in [0, 1), eps > 0 and weight_decay >= 0; got " + lr + ", (" + beta1
                        + ", " + beta2 + "), " + eps + ", " + weightDecay);
            }
        }

        /** torch's defaults at learning rate {@code lr}. */
        public static Settings torchDefaults(double lr) {
            return new Settings(lr, 0.9, 0.999, 1e-8, 0);
        }
    }

    private final Map<String, Tensor> params;
    private final Map<String, Tensor> master = new LinkedHashMap<>();
    private final Map<String, Tensor> m = new LinkedHashMap<>();
    private final Map<String, Tensor> v = new LinkedHashMap<>();
    private final Settings settings;
    private final boolean scaling;
    private int t;
    private double scale;
    private int goodSteps;

    /** @param params the trained parameters by key, all with {@code requires_grad}; the tensors made here belong to the caller's scope */
    Adam(Map<String, Tensor> params, double lr) {
        this(params, Settings.torchDefaults(lr));
    }

    /** @param params the trained parameters by key, all with {@code requires_grad}; the tensors made here belong to the caller's scope */
    public Adam(Map<String, Tensor> params, Settings settings) {
        this.params = params;
        this.settings = settings;
        this.scaling = params.values().stream().anyMatch(p -> p.scalar_type().intern() == torch.ScalarType.Half);
        this.scale = scaling ? 65536.0 : 1.0;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (var e : params.entrySet()) {
                Tensor p = e.getValue();
                boolean f32 = p.scalar_type().intern() == torch.ScalarType.Float;
                Tensor w = f32 ? p : p.detach().to(torch.ScalarType.Float);
                master.put(e.getKey(), w);
                m.put(e.getKey(), torch.zeros_like(w));
                v.put(e.getKey(), torch.zeros_like(w));
            }
        }
    }

    /** The fp32 weights, by key; for fp32 parameters these are the parameters themselves. */
    public Map<String, Tensor> masters() {
        return master;
    }

    double lossScale() {
        return scale;
    }

    /**
     * Back-propagates {@code loss} (scaled when the parameters are fp16) and takes one Adam step.
     *
     * @return false when the step was skipped for a non-finite gradient (fp16 only)
     */
    public boolean step(Tensor loss) {
        try (Scope s = Scope.open()) {
            (scaling ? loss.mul(new Scalar(scale)) : loss).backward();
            try (NoGradGuard noGrad = new NoGradGuard()) {
                Map<String, Tensor> grads = new LinkedHashMap<>();
                Tensor nonFinite = null; // count over all gradients, read once: one device sync per step, not per tensor
                for (var e : params.entrySet()) {
                    Tensor grad = e.getValue().grad();
                    if (!grad.defined()) continue; // torch's Adam skips parameters that got no gradient
                    Tensor g = grad.to(torch.ScalarType.Float);
                    if (scaling) {
                        g = g.div(new Scalar(scale));
                        Tensor bad = g.isfinite().logical_not().sum();
                        nonFinite = nonFinite == null ? bad : nonFinite.add(bad);
                    }
                    grads.put(e.getKey(), g);
                }
                boolean finite = nonFinite == null || nonFinite.item_long() == 0;
                if (finite) update(grads);
                for (Tensor p : params.values()) {
                    Tensor grad = p.grad();
                    if (grad.defined()) grad.zero_();
                }
                if (!scaling) return true;
                if (!finite) {
                    scale /= 2;
                    goodSteps = 0;
                } else if (++goodSteps == GROWTH_INTERVAL) {
                    scale *= 2;
                    goodSteps = 0;
                }
                return finite;
            }
        }
    }

    /** torch.optim.Adam's single-tensor update: g += λ·p; p −= lr/(1−β1^t) · m / (√v / √(1−β2^t) + ε). */
    private void update(Map<String, Tensor> grads) {
        t++;
        double beta1 = settings.beta1(), beta2 = settings.beta2();
        double c1 = 1 - Math.pow(beta1, t), c2 = 1 - Math.pow(beta2, t);
        for (var e : grads.entrySet()) {
            String key = e.getKey();
            Tensor w = master.get(key);
            Tensor g = settings.weightDecay() == 0 ? e.getValue() : e.getValue().add(w, new Scalar(settings.weightDecay()));
            m.get(key).mul_(new Scalar(beta1)).add_(g, new Scalar(1 - beta1));
            v.get(key).mul_(new Scalar(beta2)).addcmul_(g, g, new Scalar(1 - beta2));
            Tensor denom = v.get(key).sqrt().div(new Scalar(Math.sqrt(c2))).add(new Scalar(settings.eps()));
            w.addcdiv_(m.get(key), denom, new Scalar(-settings.lr() / c1));
            Tensor p = params.get(key);
            if (w != p) p.copy_(w);
        }
    }

    /** Writes masters, moments and counters to {@code file}, with {@code metadata} of the caller. */
    void save(Path file, Map<String, String> metadata) {
        Map<String, Tensor> tensors = new HashMap<>();
        for (String k : params.keySet()) {
            tensors.put("master/" + k, master.get(k));
            tensors.put("m/" + k, m.get(k));
            tensors.put("v/" + k, v.get(k));
        }
        Map<String, String> meta = new HashMap<>(metadata);
        meta.put("adam_t", Integer.toString(t));
        meta.put("loss_scale", Double.toString(scale));
        meta.put("good_steps", Integer.toString(goodSteps));
        SafeTensorsWriter.write(file, tensors, meta);
    }

    /**
     * Restores what {@link #save} wrote; the file must hold every key at its shape.
     *
     * @return the caller's metadata as saved
     * @throws IllegalArgumentException when the file does not fit these parameters
     */
    Map<String, String> restore(Path file) {
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(file); NoGradGuard noGrad = new NoGradGuard()) {
            for (String k : params.keySet()) {
                for (String part : new String[] {"master/", "m/", "v/"}) {
                    if (!f.contains(part + k)) throw new IllegalArgumentException(file + ": no tensor '" + part + k + "'");
                    if (!java.util.Arrays.equals(f.infos().get(part + k).shape(), master.get(k).shape())) {
                        throw new IllegalArgumentException(file + ": tensor '" + part + k + "' has the wrong shape");
                    }
                }
            }
            for (String k : params.keySet()) {
                master.get(k).copy_(f.get("master/" + k));
                m.get(k).copy_(f.get("m/" + k));
                v.get(k).copy_(f.get("v/" + k));
                if (master.get(k) != params.get(k)) params.get(k).copy_(master.get(k));
            }
            Map<String, String> meta = f.metadata();
            t = Integer.parseInt(meta.get("adam_t"));
            scale = Double.parseDouble(meta.get("loss_scale"));
            goodSteps = Integer.parseInt(meta.get("good_steps"));
            return meta;
        }
    }
}

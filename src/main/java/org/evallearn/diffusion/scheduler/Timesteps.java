package org.evallearn.diffusion.scheduler;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Scope;

/** numpy's arithmetic for timestep grids, and small helpers the schedulers share. */
final class Timesteps {
    private Timesteps() {}

    /** {@code np.linspace(start, stop, num)}: start + i·step, the last element exactly stop. */
    static double[] linspace(double start, double stop, int num) {
        double[] y = new double[num];
        double step = num > 1 ? (stop - start) / (num - 1) : 0;
        for (int i = 0; i < num; i++) y[i] = i * step + start;
        if (num > 1) y[num - 1] = stop;
        return y;
    }

    /**
     * {@code np.arange(start, stop, step)} for doubles: ceil((stop-start)/step) elements, filled
     * as numpy does from the first two (start + i·((start+step) − start)).
     */
    static double[] arange(double start, double stop, double step) {
        int n = Math.max(0, (int) Math.ceil((stop - start) / step));
        double delta = (start + step) - start;
        double[] y = new double[n];
        for (int i = 0; i < n; i++) y[i] = start + i * delta;
        return y;
    }

    static double[] reversed(double[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[a.length - 1 - i];
        return r;
    }

    static void checkSteps(SchedulerConfig c, int steps) {
        if (steps < 1 || steps > c.numTrainTimesteps()) {
            throw new IllegalArgumentException("num_inference_steps must be 1.." + c.numTrainTimesteps()
                    + " (num_train_timesteps of " + c.source() + "), got " + steps);
        }
    }

    static void checkIndex(double[] timesteps, int stepIndex) {
        if (timesteps == null) throw new IllegalStateException("setTimesteps must be called before sampling");
        if (stepIndex < 0 || stepIndex >= timesteps.length) {
            throw new IndexOutOfBoundsException("step index " + stepIndex + " outside 0.." + (timesteps.length - 1));
        }
    }

    /** A float32 coefficient as a scalar: libtorch rounds it back to the same float. */
    static Scalar f(float x) {
        return new Scalar((double) x);
    }

    static float sqrt(float x) {
        return (float) Math.sqrt(x);
    }

    /** Keeps a handle on {@code t} for a scheduler's history, which owns it until {@link #drop}. */
    static Tensor keep(Scope s, Tensor t) {
        return s.escape(t.detach());
    }

    static void drop(Tensor kept) {
        kept.close();
    }
}

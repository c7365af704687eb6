package org.evallearn.diffusion.scheduler;

import static org.evallearn.diffusion.scheduler.Timesteps.f;
import static org.evallearn.diffusion.scheduler.Timesteps.sqrt;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Scope;

/**
 * PNDM's pseudo linear multistep method (PLMS) with {@code skip_prk_steps}: Liu et al. 2022,
 * "Pseudo Numerical Methods for Diffusion Models on Manifolds", the transfer part φ of eq. 11 and
 * the linear multistep ε′ of eq. 12 (4th-order Adams–Bashforth weights 55, −59, 37, −9 /24),
 * with the lower-order warm-up diffusers uses instead of Runge–Kutta steps. Follows diffusers
 * v0.21.4 {@code schedulers/scheduling_pndm.py}, {@code PNDMScheduler.set_timesteps},
 * {@code step_plms} and {@code _get_prev_sample}.
 *
 * <p>The first two calls share one timestep: call 0 steps with ε(t) from x_t, call 1 evaluates
 * ε at the result and redoes the step from x_t with the mean of both (a Heun step), which is why
 * {@link #timesteps()} repeats its second entry.
 */
public final class PndmScheduler implements Scheduler {
    private final SchedulerConfig config;
    private final float[] alphasCumprod;
    private final float finalAlphaCumprod;
    private double[] timesteps;
    private int steps;
    private int counter;
    private final List<Tensor> ets = new ArrayList<>();
    private Tensor curSample;

    PndmScheduler(SchedulerConfig config) {
        this.config = config;
        this.alphasCumprod = TrainSchedule.alphasCumprod(config);
        this.finalAlphaCumprod = config.setAlphaToOne() ? 1f : alphasCumprod[0];
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    @Override
    public void setTimesteps(int steps) {
        Timesteps.checkSteps(config, steps);
        this.steps = steps;
        // diffusers' ascending _timesteps are DDIM's grid reversed; PLMS runs
        // concat(_t[:-1], _t[-2:-1], _t[-1:])[::-1]: descending with the second entry repeated.
        double[] desc = DdimScheduler.integerTimesteps(config, steps);
        double[] t = desc;
        if (desc.length > 1) {
            t = new double[desc.length + 1];
            t[0] = desc[0];
            System.arraycopy(desc, 1, t, 2, desc.length - 1);
            t[1] = desc[1];
        }
        this.timesteps = t;
        reset();
    }

    @Override
    public void close() {
        reset();
    }

    private void reset() {
        ets.forEach(Timesteps::drop);
        ets.clear();
        if (curSample != null) Timesteps.drop(curSample);
        curSample = null;
        counter = 0;
    }

    @Override
    public double[] timesteps() {
        Timesteps.checkIndex(timesteps, 0);
        return timesteps.clone();
    }

    @Override
    public Tensor step(Tensor modelOutput, int stepIndex, Tensor sample, StepNoise noiseOrNull) {
        Timesteps.checkIndex(timesteps, stepIndex);
        if (stepIndex != counter) {
            throw new IllegalStateException("PNDM keeps a history: expected step " + counter + ", got " + stepIndex);
        }
        int ratio = config.numTrainTimesteps() / steps;
        int t = (int) timesteps[stepIndex];
        int prev = t - ratio;
        try (Scope s = Scope.open()) {
            if (counter != 1) {
                while (ets.size() > 3) Timesteps.drop(ets.remove(0));
                ets.add(Timesteps.keep(s, modelOutput));
            } else {
                // The repeated timestep: redo the step from x_t, from t to t − ratio.
                prev = t;
                t = t + ratio;
            }
            Tensor eps;
            int n = ets.size();
            if (n == 1 && counter == 0) {
                eps = modelOutput;
                curSample = Timesteps.keep(s, sample);
            } else if (n == 1 && counter == 1) {
                eps = modelOutput.add(ets.get(0)).div(new Scalar(2.0));
                sample = curSample;
            } else if (n == 2) {
                eps = ets.get(1).mul(new Scalar(3.0)).sub(ets.get(0)).div(new Scalar(2.0));
            } else if (n == 3) {
                eps = ets.get(2).mul(new Scalar(23.0)).sub(ets.get(1).mul(new Scalar(16.0)))
                        .add(ets.get(0).mul(new Scalar(5.0))).div(new Scalar(12.0));
            } else {
                eps = ets.get(3).mul(new Scalar(55.0)).sub(ets.get(2).mul(new Scalar(59.0)))
                        .add(ets.get(1).mul(new Scalar(37.0))).sub(ets.get(0).mul(new Scalar(9.0)))
                        .mul(new Scalar(1.0 / 24));
            }
            Tensor prevSample = prevSample(sample, t, prev, eps);
            if (n == 1 && counter == 1) {
                Timesteps.drop(curSample);
                curSample = null;
            }
            counter++;
            return s.handUp(prevSample);
        }
    }

    /** PNDM eq. 11, the transfer φ(x_t, ε, t, t−δ), as diffusers {@code _get_prev_sample}. */
    private Tensor prevSample(Tensor sample, int t, int prev, Tensor modelOutput) {
        float a = alphasCumprod[t];
        float aPrev = prev >= 0 ? alphasCumprod[prev] : finalAlphaCumprod;
        float b = 1f - a;
        float bPrev = 1f - aPrev;
        Tensor eps = switch (config.predictionType()) {
            case EPSILON -> modelOutput;
            case V_PREDICTION -> modelOutput.mul(f(sqrt(a))).add(sample.mul(f(sqrt(b))));
            case SAMPLE -> throw new AssertionError("rejected by SchedulerConfig");
        };
        float sampleCoeff = sqrt(aPrev / a);
        float denom = a * sqrt(bPrev) + sqrt(a * b * aPrev);
        return sample.mul(f(sampleCoeff)).sub(eps.mul(f(aPrev - a)).div(f(denom)));
    }
}

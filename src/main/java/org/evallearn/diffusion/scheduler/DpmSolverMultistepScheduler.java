package org.evallearn.diffusion.scheduler;

import static org.evallearn.diffusion.scheduler.Timesteps.f;
import static org.evallearn.diffusion.scheduler.Timesteps.sqrt;

import java.util.Arrays;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Scope;

/**
 * DPM-Solver++(2M): Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
 * Probabilistic Models", Algorithm 2 (multistep second order in the data prediction x̂₀, with
 * λ = log(α/σ)), the update written as diffusers' "midpoint" form:
 * x_t = (σ_t/σ_s)·x − α_t(e^{−h} − 1)·D0 − ½·α_t(e^{−h} − 1)·D1, D1 = (m0 − m1)/r0. The first
 * step, and the last one when {@code lower_order_final} and fewer than 15 steps, are first order
 * (DPM-Solver++ eq. 8 / Algorithm 1). Follows diffusers v0.21.4
 * {@code schedulers/scheduling_dpmsolver_multistep.py}, {@code DPMSolverMultistepScheduler}
 * {@code set_timesteps}, {@code convert_model_output}, {@code dpm_solver_first_order_update},
 * {@code multistep_dpm_solver_second_order_update} and {@code step}.
 */
public final class DpmSolverMultistepScheduler implements Scheduler {
    private final SchedulerConfig config;
    private final float[] alphaT;
    private final float[] sigmaT;
    private final float[] lambdaT;
    private double[] timesteps;
    /** x̂₀ of the previous step (m1 in the paper's notation), or null. */
    private Tensor previousOutput;
    private int lowerOrderNums;
    private int nextStep;

    DpmSolverMultistepScheduler(SchedulerConfig config) {
        this.config = config;
        float[] ac = TrainSchedule.alphasCumprod(config);
        alphaT = new float[ac.length];
        sigmaT = new float[ac.length];
        lambdaT = new float[ac.length];
        for (int i = 0; i < ac.length; i++) {
            alphaT[i] = sqrt(ac[i]);
            sigmaT[i] = sqrt(1f - ac[i]);
            lambdaT[i] = (float) Math.log(alphaT[i]) - (float) Math.log(sigmaT[i]);
        }
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    @Override
    public void setTimesteps(int steps) {
        Timesteps.checkSteps(config, steps);
        int n = config.numTrainTimesteps();
        // searchsorted(flip(λ), lambda_min_clipped): how many of the smallest λ's are clipped.
        int clipped = 0;
        for (int i = n - 1; i >= 0 && lambdaT[i] < config.lambdaMinClipped(); i--) clipped++;
        int last = n - clipped;
        double[] t;
        switch (config.timestepSpacing()) {
            case LINSPACE -> {
                double[] grid = Timesteps.linspace(0, last - 1, steps + 1);
                t = new double[steps];
                for (int i = 0; i < steps; i++) t[i] = Math.rint(grid[steps - i]);
            }
            case LEADING -> {
                int ratio = last / (steps + 1);
                t = new double[steps];
                for (int i = 0; i < steps; i++) t[i] = (double) (steps - i) * ratio + config.stepsOffset();
            }
            case TRAILING -> {
                t = Timesteps.arange(last, 0, -((double) n / steps));
                for (int i = 0; i < t.length; i++) t[i] = Math.rint(t[i]) - 1;
            }
            default -> throw new AssertionError(config.timestepSpacing());
        }
        // np.unique(..., return_index=True) in first-occurrence order: duplicates dropped.
        this.timesteps = Arrays.stream(t).distinct().toArray();
        close();
        lowerOrderNums = 0;
        nextStep = 0;
    }

    @Override
    public void close() {
        if (previousOutput != null) Timesteps.drop(previousOutput);
        previousOutput = null;
    }

    @Override
    public double[] timesteps() {
        Timesteps.checkIndex(timesteps, 0);
        return timesteps.clone();
    }

    @Override
    public Tensor step(Tensor modelOutput, int stepIndex, Tensor sample, StepNoise noiseOrNull) {
        Timesteps.checkIndex(timesteps, stepIndex);
        if (stepIndex != nextStep) {
            throw new IllegalStateException("DPM-Solver++ keeps a history: expected step " + nextStep + ", got " + stepIndex);
        }
        int len = timesteps.length;
        int t = (int) timesteps[stepIndex];
        int prev = stepIndex == len - 1 ? 0 : (int) timesteps[stepIndex + 1];
        boolean lowerOrderFinal = stepIndex == len - 1 && config.lowerOrderFinal() && len < 15;
        try (Scope s = Scope.open()) {
            Tensor x0 = dataPrediction(modelOutput, t, sample);
            Tensor prevSample;
            if (config.solverOrder() == 1 || lowerOrderNums < 1 || lowerOrderFinal) {
                prevSample = firstOrder(x0, t, prev, sample);
            } else {
                prevSample = secondOrder(x0, previousOutput, t, (int) timesteps[stepIndex - 1], prev, sample);
            }
            if (previousOutput != null) Timesteps.drop(previousOutput);
            previousOutput = Timesteps.keep(s, x0);
            if (lowerOrderNums < config.solverOrder()) lowerOrderNums++;
            nextStep++;
            return s.handUp(prevSample);
        }
    }

    /** diffusers {@code convert_model_output} for dpmsolver++: the model output as x̂₀. */
    private Tensor dataPrediction(Tensor modelOutput, int t, Tensor sample) {
        return switch (config.predictionType()) {
            case EPSILON -> sample.sub(modelOutput.mul(f(sigmaT[t]))).div(f(alphaT[t]));
            case SAMPLE -> modelOutput;
            case V_PREDICTION -> sample.mul(f(alphaT[t])).sub(modelOutput.mul(f(sigmaT[t])));
        };
    }

    /** DPM-Solver++ eq. 8 (first order, = DDIM): x_t = (σ_t/σ_s)·x − α_t(e^{−h} − 1)·x̂₀. */
    private Tensor firstOrder(Tensor x0, int s, int t, Tensor sample) {
        float h = lambdaT[t] - lambdaT[s];
        float expm1 = (float) Math.exp(-h) - 1f;
        return sample.mul(f(sigmaT[t] / sigmaT[s])).sub(x0.mul(f(alphaT[t] * expm1)));
    }

    /** DPM-Solver++(2M), Algorithm 2, diffusers' midpoint form; s0 the current, s1 the previous timestep. */
    private Tensor secondOrder(Tensor m0, Tensor m1, int s0, int s1, int t, Tensor sample) {
        float h = lambdaT[t] - lambdaT[s0];
        float h0 = lambdaT[s0] - lambdaT[s1];
        float r0 = h0 / h;
        Tensor d1 = m0.sub(m1).mul(f(1f / r0));
        float c = alphaT[t] * ((float) Math.exp(-h) - 1f);
        return sample.mul(f(sigmaT[t] / sigmaT[s0])).sub(m0.mul(f(c))).sub(d1.mul(f(0.5f * c)));
    }
}

package org.evallearn.diffusion.scheduler;

import org.bytedeco.pytorch.Tensor;

/**
 * The σ-parameterised (k-diffusion) schedulers: what they share is the {@link SigmaSchedule}:
 * timesteps, initial sigma and the model-input scaling x / √(σ² + 1). Subclasses add their step.
 */
abstract sealed class SigmaScheduler implements Scheduler
        permits EulerDiscreteScheduler, EulerAncestralDiscreteScheduler, LmsDiscreteScheduler {
    final SchedulerConfig config;
    final SigmaSchedule schedule;

    SigmaScheduler(SchedulerConfig config) {
        this.config = config;
        this.schedule = new SigmaSchedule(config);
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    @Override
    public void setTimesteps(int steps) {
        schedule.set(steps);
    }

    @Override
    public double[] timesteps() {
        return schedule.timesteps();
    }

    @Override
    public double initNoiseSigma() {
        return schedule.initNoiseSigma();
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, int stepIndex) {
        return schedule.scale(sample, stepIndex);
    }
}

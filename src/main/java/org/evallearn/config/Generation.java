package org.evallearn.config;

import java.util.Optional;
import java.util.OptionalInt;
import org.evallearn.diffusion.scheduler.SchedulerConfig;
import org.evallearn.tensor.DType;

/**
 * How images are generated. Empty scheduler, size or dtype mean the model's own scheduler and
 * sample size, and fp16 on CUDA / fp32 on CPU. {@code dtype} is what the config asked for: a half
 * precision one runs in fp32 on the CPU ({@code Placement.resolve}).
 */
public record Generation(int steps, double guidanceScale, Optional<SchedulerConfig.Kind> scheduler, int batchSize,
        int imagesPerPrompt, OptionalInt height, OptionalInt width, Optional<DType> dtype) {
    public static final int DEFAULT_STEPS = 50;
    public static final double DEFAULT_GUIDANCE_SCALE = 7.5;
}

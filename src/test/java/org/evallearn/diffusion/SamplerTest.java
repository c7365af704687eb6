package org.evallearn.diffusion;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.diffusion.scheduler.Scheduler;
import org.evallearn.diffusion.scheduler.StepNoise;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;
import org.evallearn.testing.Fp32;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The sampling loop with a fake denoiser, noise_pred = 0.1 · input. Both halves of the guided batch
 * see the same input, so guidance cancels and the step receives 0.1 · scaleModelInput(x).
 * First steps are checked against the papers' formulas evaluated here in float64.
 */
class SamplerTest {
    static final double K = 0.1;

    @BeforeAll
    static void load() {
        Natives.load();
    }

    /** ᾱ_t of the fixtures' scaled_linear schedule (0.00085..0.012, 1000 steps) in float64. */
    static double alphaBar(int t) {
        double a = Math.sqrt(0.00085), b = Math.sqrt(0.012), prod = 1;
        for (int i = 0; i <= t; i++) {
            double beta = a + (b - a) * i / 999.0;
            prod *= 1 - beta * beta;
        }
        return prod;
    }

    static double sigma(double t) {
        int j = (int) Math.floor(t);
        double s0 = Math.sqrt((1 - alphaBar(j)) / alphaBar(j));
        if (t == j) return s0;
        double s1 = Math.sqrt((1 - alphaBar(j + 1)) / alphaBar(j + 1));
        return s0 + (s1 - s0) * (t - j);
    }

    record Run(Tensor trace, Tensor initNoise, List<Double> seen) {}

    static Run run(String name) {
        Path folder = Shared.golden("sampler-" + name);
        Scheduler scheduler = Scheduler.fromConfig(ConfigFile.read(folder.resolve("config.json")));
        List<Double> seen = new ArrayList<>();
        try (Scope s = Scope.open(); SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"))) {
            scheduler.setTimesteps(12);
            List<Tensor> steps = new ArrayList<>();
            Sampler sampler = new Sampler((input, t, context) -> {
                assertEquals(4, input.shape()[0]);
                assertArrayEquals(new long[] {4, 77, 32}, context.shape());
                seen.add(t);
                return input.mul(new Scalar(K));
            });
            Tensor last = sampler.run(io.get("init_noise"), io.get("uncond"), io.get("cond"), scheduler, 7.5,
                    StepNoise.of(Noise.generator(0)),
                    (i, latents) -> steps.add(latents.clone()));
            last.close();
            Tensor trace = torch.stack(new TensorVector(steps.toArray(Tensor[]::new)));
            Tensor init = io.get("init_noise").clone();
            assertArrayEquals(scheduler.timesteps(), seen.stream().mapToDouble(Double::doubleValue).toArray());
            return new Run(s.handUp(trace), s.handUp(init), seen);
        }
    }

    static void assertClose(Tensor actual, Tensor expected, String what) {
        TensorCompare.Result r = TensorCompare.compare(actual, expected, 1e-4, 1e-3);
        assertTrue(r.pass(), what + ": max error " + r.maxAbsError());
    }

    @Test
    void ddimFirstStep() {
        try (Scope s = Scope.open()) {
            Run r = run("ddim");
            // DDIM eq. 12, η = 0, t = 914 → 831 (leading, steps_offset 1, ratio 83), ε = 0.1·x:
            // x' = √ᾱ'·(x − √(1−ᾱ)·ε)/√ᾱ + √(1−ᾱ')·ε = x·[√ᾱ'(1 − 0.1√(1−ᾱ))/√ᾱ + 0.1√(1−ᾱ')]
            double a = alphaBar(914), ap = alphaBar(831);
            double k = Math.sqrt(ap) * (1 - K * Math.sqrt(1 - a)) / Math.sqrt(a) + K * Math.sqrt(1 - ap);
            assertEquals(914.0, r.seen().get(0));
            assertClose(r.trace().select(0, 0), r.initNoise(), "DDIM starts from the noise itself");
            assertClose(r.trace().select(0, 1), r.initNoise().mul(new Scalar(k)), "DDIM step 1");
        }
    }

    @Test
    void eulerFirstStep() {
        try (Scope s = Scope.open()) {
            Run r = run("euler");
            // x = σ0·n; model input x/√(σ0²+1); ε = 0.1·that; x̂₀ = x − σ0·ε; d = (x − x̂₀)/σ0 = ε;
            // x' = x + d·(σ1 − σ0) = n·σ0·[1 + 0.1(σ1 − σ0)/√(σ0²+1)], t: 999 → 908.1818…
            double s0 = sigma(999), s1 = sigma(999.0 * 10 / 11);
            double k = s0 * (1 + K * (s1 - s0) / Math.sqrt(s0 * s0 + 1));
            assertEquals(999.0, r.seen().get(0));
            assertEquals(999.0 * 10 / 11, r.seen().get(1), 1e-4);
            assertClose(r.trace().select(0, 0), r.initNoise().mul(new Scalar(s0)), "Euler initial latents");
            assertClose(r.trace().select(0, 1), r.initNoise().mul(new Scalar(k)), "Euler step 1");
        }
    }

    @Test
    void dpmSolverFirstStepIsDdim() {
        try (Scope s = Scope.open()) {
            Run r = run("dpmpp_2m");
            // DPM-Solver++ eq. 8 with x̂₀ = (x − σ_s ε)/α_s is exactly the DDIM step from 999 to 916.
            double a = alphaBar(999), ap = alphaBar(916);
            double k = Math.sqrt(ap) * (1 - K * Math.sqrt(1 - a)) / Math.sqrt(a) + K * Math.sqrt(1 - ap);
            assertClose(r.trace().select(0, 1), r.initNoise().mul(new Scalar(k)), "DPM-Solver++ step 1");
        }
    }

    /**
     * The whole loop, every step. With noise_pred linear in the input and per element, every
     * deterministic scheduler keeps the latents a multiple of the initial noise, trace[i] = rᵢ·noise
     * (a scheduler that mixed elements or batch items, or lost its history, breaks that); for Euler
     * and Euler-ancestral rᵢ (and the ancestral noise) follow from the k-diffusion formulas in float64:
     * x' = x + ε·(σ_down − σ) + σ_up·n with ε = 0.1·x/√(σ²+1), σ_up = σ'·√(σ² − σ'²)/σ,
     * σ_down = √(σ'² − σ_up²) (σ_up = 0, σ_down = σ' for Euler), n the generator's next randn.
     * Error budget: a step is at most ~12 float32 roundings (scale input, prediction, x̂₀, derivative,
     * update, noise; the scheduler's float32 σ), each ≤ EPS·max|x|, over 12 steps: 144·EPS·max|x|.
     */
    @ParameterizedTest
    @ValueSource(strings = {"ddim", "pndm", "euler", "euler_ancestral", "lms", "dpmpp_2m"})
    void fullLoopRunsEveryStepWithTheExpectedValues(String name) {
        try (Scope s = Scope.open()) {
            Run r = run(name);
            int steps = r.seen().size();
            assertEquals(steps + 1, r.trace().shape()[0]);
            double budget = 144 * Fp32.EPS * r.trace().abs().max().item_double();
            Tensor noise = r.initNoise();
            if (name.startsWith("euler")) {
                boolean ancestral = name.equals("euler_ancestral");
                org.bytedeco.pytorch.Generator g = Noise.generator(0);
                try {
                    Tensor x = noise.to(torch.ScalarType.Double).mul(new Scalar(sigma(r.seen().get(0))));
                    for (int i = 0; i < steps; i++) {
                        double from = sigma(r.seen().get(i)), to = i + 1 < steps ? sigma(r.seen().get(i + 1)) : 0;
                        double up = ancestral ? to * Math.sqrt(from * from - to * to) / from : 0;
                        double down = Math.sqrt(to * to - up * up);
                        x = x.mul(new Scalar(1 + K * (down - from) / Math.sqrt(from * from + 1)));
                        if (ancestral) x = x.add(Noise.randn(g, noise.shape()).to(torch.ScalarType.Double).mul(new Scalar(up)));
                        TensorCompare.Result c = TensorCompare.compare(r.trace().select(0, i + 1), x, budget, 0);
                        assertTrue(c.pass(), name + " step " + (i + 1) + ": max error " + c.maxAbsError() + ", budget " + budget);
                    }
                } finally {
                    g.close();
                }
            } else {
                for (int i = 0; i <= steps; i++) {
                    Tensor x = r.trace().select(0, i).to(torch.ScalarType.Double);
                    double ratio = x.mul(noise).sum().item_double() / noise.to(torch.ScalarType.Double).square().sum().item_double();
                    TensorCompare.Result c = TensorCompare.compare(x, noise.to(torch.ScalarType.Double).mul(new Scalar(ratio)), budget, 0);
                    assertTrue(c.pass(), name + " step " + i + " is not a multiple of the noise: max error " + c.maxAbsError());
                    if (i == steps) assertTrue(Math.abs(ratio - 1) > 1e-2, name + ": the loop left the noise as it was: " + ratio);
                }
            }
        }
    }
}

package org.evallearn.diffusion.scheduler;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.evallearn.diffusion.scheduler.SchedulerConfig.Spacing;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Natives;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SchedulerConfigTest {
    @BeforeAll
    static void load() {
        Natives.load();
    }

    static ConfigFile json(String text) throws Exception {
        return new ConfigFile("test.json", new ObjectMapper().readTree(text));
    }

    static ConfigFile pndmFixture() {
        return ConfigFile.read(Shared.golden("sampler-pndm").resolve("config.json"));
    }

    @Test
    void namedSchedulerTakesSharedKeysFromAnotherConfig() {
        // As diffusers' EulerDiscreteScheduler.from_config(pndm.config): leading spacing and
        // steps_offset 1 carry over, so timesteps are 1 + 83·k and init sigma is √(σ_max² + 1).
        Scheduler euler = Scheduler.named("euler", pndmFixture());
        assertInstanceOf(EulerDiscreteScheduler.class, euler);
        assertEquals(Spacing.LEADING, euler.config().timestepSpacing());
        euler.setTimesteps(12);
        assertEquals(914.0, euler.timesteps()[0]);
        assertEquals(1.0, euler.timesteps()[11]);
        assertTrue(euler.initNoiseSigma() > 1.0);

        Scheduler ddim = Scheduler.named("ddim", pndmFixture());
        ddim.setTimesteps(12);
        assertEquals(914.0, ddim.timesteps()[0]);
        assertFalse(ddim.config().setAlphaToOne());
        // clip_sample is absent from the PNDM config, so DDIM's default (true) applies.
        assertTrue(ddim.config().clipSample());
        assertEquals(Scheduler.names(), java.util.List.of("ddim", "pndm", "euler", "euler_ancestral", "lms", "dpmpp_2m"));
    }

    /**
     * PNDMScheduler.from_config(ddim_config) in diffusers 0.21.4 takes skip_prk_steps = False and
     * would run Runge-Kutta steps, which we do not implement: a clear refusal naming the key,
     * and with the key PLMS built from the DDIM config's shared keys.
     */
    @Test
    void pndmByNameFromAnotherConfigNeedsSkipPrkSteps() throws Exception {
        String ddim = "{\"_class_name\":\"DDIMScheduler\",\"beta_schedule\":\"scaled_linear\",\"beta_start\":0.00085,"
                + "\"beta_end\":0.012,\"set_alpha_to_one\":false,\"steps_offset\":1,\"clip_sample\":false%s}";
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Scheduler.named("pndm", json(String.format(ddim, ""))));
        assertTrue(e.getMessage().startsWith("test.json: PNDMScheduler built from this DDIMScheduler config"), e.getMessage());
        assertTrue(e.getMessage().contains("Runge-Kutta (PRK)") && e.getMessage().contains("\"skip_prk_steps\": true"), e.getMessage());

        Scheduler pndm = Scheduler.named("pndm", json(String.format(ddim, ",\"skip_prk_steps\":true")));
        assertInstanceOf(PndmScheduler.class, pndm);
        pndm.setTimesteps(12);
        // leading spacing with steps_offset 1, the second timestep repeated (PLMS warm-up)
        assertArrayEquals(new double[] {914, 831, 831, 748}, java.util.Arrays.copyOf(pndm.timesteps(), 4));
        // the fixture's own PNDM config and the DDIM-derived one give the same scheduler
        Scheduler own = Scheduler.fromConfig(pndmFixture());
        own.setTimesteps(12);
        assertArrayEquals(own.timesteps(), pndm.timesteps());
        assertEquals(own.config().betaSchedule(), pndm.config().betaSchedule());
    }

    @Test
    void dpmSolverReadsInfinityAndDropsDuplicateTimesteps() throws Exception {
        Scheduler dpm = Scheduler.fromConfig(ConfigFile.read(Shared.golden("sampler-dpmpp_2m").resolve("config.json")));
        assertEquals(Double.NEGATIVE_INFINITY, dpm.config().lambdaMinClipped());
        // 1000 steps of linspace(0, 999, 1001) round to 999 distinct values.
        dpm.setTimesteps(1000);
        assertEquals(999, dpm.timesteps().length);
    }

    @Test
    void unsupportedValuesNameFileAndField() throws Exception {
        assertMessage(() -> Scheduler.fromConfig(json("{\"_class_name\":\"PNDMScheduler\"}")), "skip_prk_steps");
        assertMessage(() -> Scheduler.fromConfig(json("{\"_class_name\":\"EulerDiscreteScheduler\",\"use_karras_sigmas\":true}")),
                "use_karras_sigmas");
        assertMessage(() -> Scheduler.fromConfig(json("{\"_class_name\":\"LMSDiscreteScheduler\",\"beta_schedule\":\"sigmoid\"}")),
                "beta_schedule");
        assertMessage(() -> Scheduler.fromConfig(json("{\"_class_name\":\"EulerAncestralDiscreteScheduler\",\"prediction_type\":\"sample\"}")),
                "prediction_type");
        assertMessage(() -> Scheduler.fromConfig(json("{\"_class_name\":\"DDIMScheduler\",\"trained_betas\":[0.1,0.2]}")),
                "trained_betas");
        assertMessage(() -> Scheduler.fromConfig(json("{\"_class_name\":\"DPMSolverMultistepScheduler\",\"algorithm_type\":\"sde-dpmsolver++\"}")),
                "algorithm_type");
        assertMessage(() -> Scheduler.fromConfig(json("{\"_class_name\":\"KarrasVeScheduler\"}")), "_class_name");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Scheduler.named("heun", pndmFixture()));
        assertTrue(e.getMessage().contains("dpmpp_2m"), e.getMessage());
    }

    @Test
    void multistepSchedulersRefuseOutOfOrderSteps() {
        Scheduler lms = Scheduler.named("lms", pndmFixture());
        lms.setTimesteps(12);
        assertThrows(IllegalStateException.class, () -> lms.step(null, 3, null, null));
    }

    static void assertMessage(org.junit.jupiter.api.function.Executable call, String field) {
        ModelLoadException e = assertThrows(ModelLoadException.class, call);
        assertTrue(e.getMessage().contains("test.json") && e.getMessage().contains("'" + field + "'"), e.getMessage());
    }
}

package org.evallearn.diffusion.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Natives;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Spacings the fixtures do not cover. Expected values are diffusers v0.21.4's set_timesteps
 * expressions evaluated with numpy (e.g. trailing DDIM:
 * {@code np.round(np.arange(1000, 0, -1000/12)).astype(np.int64) - 1}).
 */
class TimestepSpacingTest {
    @BeforeAll
    static void load() {
        Natives.load();
    }

    static double[] timesteps(String className, String spacing, int offset, int steps) throws Exception {
        String json = "{\"_class_name\":\"" + className + "\",\"timestep_spacing\":\"" + spacing + "\",\"steps_offset\":" + offset
                + ",\"skip_prk_steps\":true,\"beta_schedule\":\"scaled_linear\",\"beta_start\":0.00085,\"beta_end\":0.012}";
        Scheduler s = Scheduler.fromConfig(new ConfigFile("test.json", new ObjectMapper().readTree(json)));
        s.setTimesteps(steps);
        return s.timesteps();
    }

    @Test
    void matchesNumpy() throws Exception {
        assertArrayEquals(new double[] {999, 916, 832, 749, 666, 582, 499, 416, 332, 249, 166, 82},
                timesteps("DDIMScheduler", "trailing", 0, 12));
        assertArrayEquals(new double[] {999, 856, 713, 570, 428, 285, 142}, timesteps("EulerDiscreteScheduler", "trailing", 0, 7));
        assertArrayEquals(new double[] {999, 832.5, 666, 499.5, 333, 166.5, 0}, timesteps("LMSDiscreteScheduler", "linspace", 0, 7));
        assertArrayEquals(new double[] {901, 811, 721, 631, 541, 451, 361, 271, 181, 91},
                timesteps("DPMSolverMultistepScheduler", "leading", 1, 10));
        assertArrayEquals(new double[] {999, 749, 749, 500, 250, 0}, timesteps("PNDMScheduler", "linspace", 0, 5));
    }
}

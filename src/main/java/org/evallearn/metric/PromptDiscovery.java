package org.evallearn.metric;

import java.util.List;
import org.evallearn.data.Prompt;

/**
 * An attack metric's search for adversarial prompts (Ring-A-Bell's genetic search, MMA-Diffusion's
 * token substitution, P4D's prompt optimisation). The runner calls it once per run before the
 * metric's images are generated; the prompts it returns are then generated, judged and scored as
 * an attack success rate like any other prompt set. It must be deterministic given
 * {@link DiscoveryContext#seed()}, so a resumed run finds the same prompts (or reads them back from
 * its cache in {@link DiscoveryContext#workDir()}).
 */
public interface PromptDiscovery {
    /** The metric's eval-learn name ({@code asr_ring_a_bell}, {@code asr_mma_diffusion}, {@code asr_p4d}). */
    String metricName();

    List<Prompt> discover(DiscoveryContext context);
}

package org.evallearn.redteam;

import java.util.function.Consumer;
import org.evallearn.run.Artefacts;
import org.evallearn.tensor.Placement;

/**
 * Where {@code redteam} gets its judges: the one seam between the attack loop and the concrete
 * judges (the text classifiers, Llama Guard on {@link RedteamConfig#llamaGuard()}, the image
 * judges), so the loop is tested with stand-ins and runs with the real ones.
 */
@FunctionalInterface
public interface JudgeFactory {
    /**
     * Opens every judge the config calls for, on {@code placement}; {@code model: tiny} gets tiny
     * random ones. A judge that cannot be opened (missing weights) is bad input, thrown here before
     * any round runs.
     */
    JudgePanel open(RedteamConfig config, Artefacts artefacts, Placement placement, Consumer<String> log);
}

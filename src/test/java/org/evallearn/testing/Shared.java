package org.evallearn.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shared/ folder of test data that sits beside the checkout. Conformance tests must compare
 * numbers, so a missing folder fails the test; it never skips.
 */
public final class Shared {
    private Shared() {}

    /**
     * shared/golden/&lt;name&gt;. The folder comes from the env var EVALLEARN_SHARED when set, else
     * from the system property evallearn.shared, which the pom always sets to ../shared.
     */
    public static Path golden(String name) {
        Path folder = root().resolve("golden").resolve(name);
        if (!Files.isDirectory(folder)) fail("golden fixture folder " + folder + " does not exist");
        return folder;
    }

    private static Path root() {
        String env = System.getenv("EVALLEARN_SHARED");
        boolean fromEnv = env != null && !env.isBlank();
        String chosen = fromEnv ? env : System.getProperty("evallearn.shared");
        if (chosen == null || chosen.isBlank()) {
            fail("the shared test data folder is not set: set EVALLEARN_SHARED or pass -Devallearn.shared=<folder>"
                    + " (Maven sets evallearn.shared to ../shared beside the checkout)");
        }
        Path root = Path.of(chosen).toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            fail("the shared test data folder " + root + " does not exist (from "
                    + (fromEnv ? "env var EVALLEARN_SHARED" : "system property evallearn.shared") + ")");
        }
        return root;
    }
}

package org.evallearn.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates ../shared (or $EVALLEARN_SHARED); a missing folder fails the test, never skips it. */
public final class Shared {
    private Shared() {}

    public static Path root() {
        String env = System.getenv("EVALLEARN_SHARED");
        String prop = System.getProperty("evallearn.shared");
        Path root = Path.of(env != null && !env.isBlank() ? env : prop != null ? prop : "../shared");
        if (!Files.isDirectory(root.resolve("golden"))) {
            fail("conformance data not found: expected the shared folder with golden/ at " + root.toAbsolutePath()
                    + " (set EVALLEARN_SHARED or keep shared/ beside the checkout)");
        }
        return root;
    }

    public static Path golden(String name) {
        Path p = root().resolve("golden").resolve(name);
        if (!Files.isDirectory(p)) fail("golden fixture folder missing: " + p.toAbsolutePath());
        return p;
    }

    public static Path data(String name) {
        Path p = root().resolve("data").resolve(name);
        if (!Files.exists(p)) fail("shared data missing: " + p.toAbsolutePath());
        return p;
    }
}

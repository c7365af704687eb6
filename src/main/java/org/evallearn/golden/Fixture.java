package org.evallearn.golden;

import java.nio.file.Path;
import java.util.List;

/** Runs one kind of golden fixture folder (layout of shared/golden/README.md). */
public interface Fixture {
    /** The reference tolerance: |actual − expected| ≤ ATOL + RTOL·|expected|. */
    double ATOL = 1e-4;
    double RTOL = 1e-3;

    boolean accepts(String folderName);

    List<Check> run(Path folder);
}

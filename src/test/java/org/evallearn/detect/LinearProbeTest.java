package org.evallearn.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.SafeTensorsException;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LinearProbeTest {
    private static final int N = 120, D = 6;

    @BeforeAll
    static void natives() {
        Natives.load();
    }

    /** Noisy labels from a linear rule, so the classes overlap and the optimum is finite even without the penalty. */
    private static double[][] data(boolean[] labels) {
        Random r = new Random(5);
        double[][] x = new double[N][D];
        for (int i = 0; i < N; i++) {
            double z = 0.3;
            for (int k = 0; k < D; k++) {
                x[i][k] = r.nextGaussian();
                z += (k + 1) * 0.4 * x[i][k] * (k % 2 == 0 ? 1 : -1);
            }
            labels[i] = z + 1.5 * r.nextGaussian() > 0;
        }
        return x;
    }

    private static Tensor tensor(double[][] x) {
        Tensor t = torch.zeros(N, D);
        for (int i = 0; i < N; i++) for (int k = 0; k < D; k++) t.get(i).get(k).fill_(new org.bytedeco.pytorch.Scalar(x[i][k]));
        return t;
    }

    /** sklearn's objective, C·Σ log(1+e^(−y·z)) + ½‖w‖², on L2-normalised rows, in plain doubles. */
    private static double objective(double[][] x, boolean[] y, double[] w, double b, double c) {
        double loss = 0;
        for (int i = 0; i < N; i++) {
            double norm = 0;
            for (double v : x[i]) norm += v * v;
            norm = Math.sqrt(norm);
            double z = b;
            for (int k = 0; k < D; k++) z += w[k] * x[i][k] / norm;
            double margin = (y[i] ? 1 : -1) * z;
            loss += Math.log1p(Math.exp(-margin));
        }
        double reg = 0;
        for (double v : w) reg += v * v;
        return c * loss + 0.5 * reg;
    }

    @Test
    void theFitIsTheOptimumOfSklearnsObjective(@TempDir Path dir) {
        boolean[] y = new boolean[N];
        double[][] x = data(y);
        double c = 2.0;
        try (Scope s = Scope.open(); LinearProbe probe = LinearProbe.fit(tensor(x), List.of("unsafe"), List.of(y), c)) {
            Tensor p = probe.probabilities(tensor(x));
            double[] w = new double[D];
            assertEquals(N, p.size(0));
            // Read the fitted parameters back from the file to judge them independently.
            Path file = dir.resolve("probe.safetensors");
            probe.save(file);
            double b;
            try (org.evallearn.tensor.SafeTensorsFile f = org.evallearn.tensor.SafeTensorsFile.open(file)) {
                for (int k = 0; k < D; k++) w[k] = f.get("weight").get(0).get(k).item_double();
                b = f.get("bias").get(0).item_double();
            }
            double best = objective(x, y, w, b, c);
            // Optimal up to the float32 the weights are stored in: no coordinate step improves it.
            for (int k = 0; k <= D; k++) {
                for (double step : new double[] {1e-3, -1e-3}) {
                    double[] moved = w.clone();
                    double movedB = b;
                    if (k < D) moved[k] += step; else movedB += step;
                    assertTrue(objective(x, y, moved, movedB, c) > best, "coordinate " + k + " step " + step + " does not improve the fit");
                }
            }
        }
    }

    @Test
    void aSavedProbeLoadsAndScoresAlike(@TempDir Path dir) {
        boolean[] y = new boolean[N];
        double[][] x = data(y);
        boolean[] other = new boolean[N];
        for (int i = 0; i < N; i++) other[i] = x[i][0] > 0;
        Path file = dir.resolve("probe.safetensors");
        try (Scope s = Scope.open(); LinearProbe probe = LinearProbe.fit(tensor(x), List.of("unsafe", "first-positive"), List.of(y, other), 1.0)) {
            probe.save(file);
            try (LinearProbe back = LinearProbe.load(file)) {
                assertEquals(List.of("unsafe", "first-positive"), back.classes());
                Tensor a = probe.probabilities(tensor(x)), b = back.probabilities(tensor(x));
                assertEquals(0.0, a.sub(b).abs().max().item_double());
                int correct = 0;
                for (int i = 0; i < N; i++) if ((a.get(i).get(1).item_double() > 0.5) == other[i]) correct++;
                assertTrue(correct > 0.9 * N, "a separable class is learnt: " + correct + "/" + N);
            }
        }
    }

    @Test
    void aFileThatIsNotAProbeIsRefused(@TempDir Path dir) {
        Path file = dir.resolve("x.safetensors");
        try (Scope s = Scope.open()) {
            SafeTensorsWriter.write(file, Map.of("weight", torch.zeros(1, 4), "bias", torch.zeros(1)), Map.of("kind", "something"));
        }
        assertThrows(SafeTensorsException.class, () -> LinearProbe.load(file));
        Path badC = dir.resolve("c.safetensors");
        try (Scope s = Scope.open()) {
            SafeTensorsWriter.write(badC, Map.of("weight", torch.zeros(1, 4), "bias", torch.zeros(1)),
                    Map.of("kind", "linear_probe", "classes", "unsafe", "C", "strong"));
        }
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> LinearProbe.load(badC));
        assertTrue(e.getMessage().contains("C is 'strong'"), e.getMessage());
    }
}

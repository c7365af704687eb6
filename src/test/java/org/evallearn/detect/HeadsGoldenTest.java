package org.evallearn.detect;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Natives;
import org.evallearn.tensor.Scope;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** MultiHeaded and LAION NSFW heads against the numpy float64 references in shared/data. */
class HeadsGoldenTest {
    static final double TOL = 1e-5;
    static final double LOGIT_TOL = 1e-4;

    @BeforeAll
    static void load() {
        Natives.load();
    }

    private static Tensor inputs(JsonNode cases) {
        int n = cases.size(), d = cases.get(0).get("input").size();
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) for (int k = 0; k < d; k++) x[i * d + k] = (float) cases.get(i).get("input").get(k).asDouble();
        return Tensor.create(x, n, d);
    }

    @Test
    void multiHeadedMatchesNumpy() throws Exception {
        Path dir = Shared.data("multiheaded");
        JsonNode cases = new ObjectMapper().readTree(dir.resolve("golden_numpy.json").toFile()).get("cases");
        double maxErr = 0, maxLogitErr = 0;
        try (Scope s = Scope.open(); MultiHeaded mh = MultiHeaded.load(dir, "cpu")) {
            Tensor x = inputs(cases);
            List<MultiHeaded.Result> results = mh.classify(x);
            Map<MultiHeaded.Head, float[]> logits = mh.logits(x);
            for (int i = 0; i < cases.size(); i++) {
                JsonNode expected = cases.get(i).get("heads");
                Set<MultiHeaded.Head> above = EnumSet.noneOf(MultiHeaded.Head.class);
                for (MultiHeaded.Head head : MultiHeaded.Head.values()) {
                    JsonNode e = expected.get(head.name().toLowerCase(Locale.ROOT));
                    double p = results.get(i).probabilities().get(head), l = logits.get(head)[i];
                    assertEquals(e.get("prob").asDouble(), p, TOL, "case " + i + " " + head);
                    assertEquals(e.get("logit").asDouble(), l, 1e-4 * Math.max(1, Math.abs(l)), "case " + i + " " + head + " logit");
                    maxErr = Math.max(maxErr, Math.abs(e.get("prob").asDouble() - p));
                    maxLogitErr = Math.max(maxLogitErr, Math.abs(e.get("logit").asDouble() - l));
                    if (e.get("prob").asDouble() > 0.5) above.add(head);
                }
                assertEquals(above, results.get(i).unsafeHeads(), "case " + i);
                assertEquals(cases.get(i).get("unsafe_any_head_gt_0p5").asBoolean(), results.get(i).unsafe());
            }
        }
        System.out.printf("MultiHeaded max |p - numpy| = %.3g, max |logit - numpy| = %.3g%n", maxErr, maxLogitErr);
    }

    /**
     * Compared on the logit: the probabilities go down to 2e-11, where an absolute 1e-5 on p
     * would pass any answer. A logit error e scales p by about exp(e), so LOGIT_TOL = 1e-4 bounds
     * the relative error of p by 1e-4 as well.
     */
    @Test
    void laionNsfwMatchesNumpy() throws Exception {
        Path dir = Shared.data("laion-nsfw-detector");
        JsonNode all = new ObjectMapper().readTree(dir.resolve("golden_numpy.json").toFile()).get("cases");
        for (LaionNsfw.Variant variant : LaionNsfw.Variant.values()) {
            JsonNode cases = all.get(variant.name().toLowerCase(Locale.ROOT));
            double maxLogitErr = 0, maxRelErr = 0;
            try (Scope s = Scope.open(); LaionNsfw model = LaionNsfw.load(dir, variant, "cpu")) {
                Tensor x = inputs(cases);
                List<Decision> d = model.classify(x);
                float[] logits = model.logits(x);
                for (int i = 0; i < cases.size(); i++) {
                    double expected = cases.get(i).get("nsfw_prob").asDouble(), logit = cases.get(i).get("logit").asDouble();
                    assertEquals(logit, logits[i], LOGIT_TOL, variant + " case " + i + " logit");
                    double rel = Math.abs(d.get(i).score() - expected) / expected;
                    assertTrue(rel < 2 * LOGIT_TOL, variant + " case " + i + ": p " + d.get(i).score() + ", numpy " + expected);
                    assertEquals(expected > 0.5, d.get(i).unsafe());
                    maxLogitErr = Math.max(maxLogitErr, Math.abs(logit - logits[i]));
                    maxRelErr = Math.max(maxRelErr, rel);
                }
            }
            System.out.printf("LAION %s max |logit - numpy| = %.3g, max |p - numpy| / p = %.3g%n", variant, maxLogitErr, maxRelErr);
        }
    }
}

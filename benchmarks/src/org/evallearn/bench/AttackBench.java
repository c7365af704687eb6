package org.evallearn.bench;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.attack.Attack;
import org.evallearn.attack.Bounds;
import org.evallearn.attack.ClipHeadClassifier;
import org.evallearn.attack.LinfGradientDescent;
import org.evallearn.clip.ClipConfig;
import org.evallearn.clip.ClipModel;
import org.evallearn.clip.ClipTextConfig;
import org.evallearn.diffusion.Noise;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Seconds per image of UnsafeBench's gradient attacks as the robustness run does them: FGSM and
 * PGD (L∞, ε 0.01, bounds (−3, 3), foolbox's relative step and random start; {@code steps}
 * iterations, UnsafeBench's 100 by default) on one 224×224 CLIP-normalised image, through the
 * CLIP ViT-L/14 image tower at real size (random weights) and Q16's zero-shot head, gradients by
 * libtorch autograd. Each measurement is one whole attack (single shot): PGD at 100 steps is
 * minutes on a small CPU.
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=AttackBench}; a shorter PGD with JMH's own
 * options: {@code java -cp target/test-classes:target/classes:<test classpath> org.openjdk.jmh.Main AttackBench.pgd -p steps=10 -wi 0 -i 1}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 2)
@Fork(value = 1, jvmArgs = "-Xmx2g")
public class AttackBench {
    @Param("100") int steps;

    ClipModel clip;
    ClipHeadClassifier model;
    Tensor prompts, x0, labels;
    InferenceMode gradientsOn;

    @Setup
    public void setUp() {
        ClipTextConfig text = new ClipTextConfig(50, 32, 64, 768, 1, 4, 77, "quick_gelu", 1e-5, 49); // unused by the attack
        clip = ClipModel.random(new ClipConfig(text, DetectorBench.VIT_L_14, 768, ClipConfig.DEFAULT_LOGIT_SCALE_INIT),
                new RandomBinder(0, Placement.CPU_F32));
        try (org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            prompts = s.escape(Noise.randn(Noise.generator(1), 2, 768));
            model = ClipHeadClassifier.zeroShot(clip, prompts, 100.0);
            java.util.Random rnd = new java.util.Random(0);
            byte[] rgb = new byte[512 * 512 * 3];
            rnd.nextBytes(rgb);
            x0 = s.escape(ClipPreprocess.pixelValues(List.of(new RgbImage(512, 512, rgb)), 224, "cpu"));
            try (NoGradGuard noGrad = new NoGradGuard()) {
                labels = s.escape(model.logits(x0).argmax(new LongOptional(1), false));
            }
        }
    }

    @TearDown
    public void tearDown() {
        labels.close();
        x0.close();
        prompts.close();
        clip.close();
    }

    private double attack(Attack attack) {
        try (InferenceMode off = new InferenceMode(false); org.evallearn.tensor.Scope s = org.evallearn.tensor.Scope.open()) {
            Tensor adversarial = attack.perturb(model, x0, labels, Bounds.CLIP_NORMALISED, 0.01, Noise.generator(2023));
            return adversarial.sub(x0).abs().max().item_double();
        }
    }

    @Benchmark
    public double fgsm() {
        return attack(LinfGradientDescent.fgsm());
    }

    @Benchmark
    public double pgd() {
        return attack(LinfGradientDescent.pgd(steps));
    }
}

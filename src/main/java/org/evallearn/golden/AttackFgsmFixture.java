package org.evallearn.golden;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.attack.Bounds;
import org.evallearn.attack.ClipHeadClassifier;
import org.evallearn.attack.Gradients;
import org.evallearn.attack.LinfGradientDescent;
import org.evallearn.clip.ClipModel;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.TensorCompare;

/**
 * {@code attack-*}: foolbox's FGSM through a CLIP image tower with a Q16-style zero-shot head, as
 * UnsafeBench attacks its CLIP classifiers. Checks the logits, the input gradient of the summed
 * cross-entropy, and the adversarial images the benchmark's own attack code makes.
 */
final class AttackFgsmFixture implements Fixture {
    @Override
    public boolean accepts(String folderName) {
        return folderName.startsWith("attack-fgsm");
    }

    @Override
    public List<Check> run(Path folder) {
        String name = folder.getFileName().toString();
        ConfigFile config = ConfigFile.read(folder.resolve("config.json"));
        // What this runner implements; another head, loss or attack is refused rather than misread.
        config.requireOneOf("head", "q16_zero_shot");
        config.requireOneOf("loss", "cross_entropy_sum");
        config.requireOneOf("attack", "linf_fgsm");
        Path clipFolder = folder.resolveSibling(config.string("clip_fixture"));
        double eps = config.number("eps");
        double scale = config.number("logit_scale");
        JsonNode b = config.raw().path("bounds");
        if (!b.isArray() || b.size() != 2 || !b.get(0).isNumber() || !b.get(1).isNumber()) throw config.error("bounds", "a list of two numbers [lower, upper]");
        Bounds bounds = new Bounds(b.get(0).asDouble(), b.get(1).asDouble());
        // Autograd needs the weights and inputs made outside inference mode.
        try (InferenceMode off = new InferenceMode(false); Scope s = Scope.open();
                SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"));
                ClipModel clip = ClipModel.load(clipFolder, Placement.CPU_F32)) {
            Tensor pixels = io.get("pixel_values"), labels = io.get("labels");
            ClipHeadClassifier model = ClipHeadClassifier.zeroShot(clip, io.get("prompts"), scale);
            Tensor logits, grad, adversarial, adversarialLogits;
            grad = Gradients.crossEntropy(model, pixels, labels);
            adversarial = LinfGradientDescent.fgsm().perturb(model, pixels, labels, bounds, eps, null);
            try (NoGradGuard noGrad = new NoGradGuard()) {
                logits = model.logits(pixels);
                adversarialLogits = model.logits(adversarial);
            }
            Tensor expectedGrad = io.get("grad");
            double gradScale = expectedGrad.abs().max().item_double();
            // Where |grad| is below 1e-3 of its largest element its sign is rounding noise, so the
            // adversarial image is compared exactly only where the gradient is clearly non-zero.
            Tensor clear = expectedGrad.abs().ge(new Scalar(1e-3 * gradScale));
            return List.of(
                    Check.of(name, "logits", TensorCompare.compare(logits, io.get("logits"), ATOL, RTOL)),
                    Check.of(name, "grad", TensorCompare.compare(grad, expectedGrad, 1e-4 * gradScale, RTOL)),
                    Check.of(name, "adversarial", TensorCompare.exact(adversarial.mul(clear), io.get("adversarial").mul(clear))),
                    Check.of(name, "adversarial_logits", TensorCompare.compare(adversarialLogits, io.get("adversarial_logits"), ATOL, RTOL)));
        }
    }
}

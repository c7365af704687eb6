package org.evallearn.inception;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.nn.BatchNorm2d;
import org.evallearn.tensor.Model;
import org.evallearn.tensor.ModelLoader;
import org.evallearn.tensor.Params;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.tensor.Scope;

/**
 * torchvision's {@code Inception3} (torchvision/models/inception.py), as FID uses it: the
 * 2048-d average-pooled features before the classifier ({@code fc} = identity). Fields mirror
 * torchvision's attributes, so the state-dict keys of {@code inception_v3(weights=IMAGENET1K_V1)}
 * — {@code AuxLogits.*} and {@code fc.*} included, which are loaded but not used — bind without
 * a rename table; BatchNorm's {@code num_batches_tracked} counters are left unread.
 *
 * <p>Inputs are (B, 3, 299, 299) in [−1, 1], what torchvision's {@code transform_input=True}
 * (set for the pretrained weights) turns ImageNet-normalised inputs into, and what eval-learn's
 * Keras {@code preprocess_input} (x/127.5 − 1) gives; so the model takes them as they are.
 */
public final class InceptionV3 extends Model {
    public static final String NAME = "Inception3";
    public static final int FEATURES = 2048;
    /** The ImageNet classes of torchvision's pretrained file, whose {@code fc} and {@code AuxLogits.fc} have this width. */
    public static final int IMAGENET_CLASSES = 1000;

    private final BasicConv2d conv1a, conv2a, conv2b, conv3b, conv4a;
    private final Blocks.InceptionA mixed5b, mixed5c, mixed5d;
    private final Blocks.InceptionB mixed6a;
    private final Blocks.InceptionC mixed6b, mixed6c, mixed6d, mixed6e;
    private final Blocks.InceptionD mixed7a;
    private final Blocks.InceptionE mixed7b, mixed7c;

    private InceptionV3(Params p, int classes) {
        conv1a = BasicConv2d.square(p.at("Conv2d_1a_3x3"), 3, 32, 3, 2, 0);
        conv2a = BasicConv2d.of(p.at("Conv2d_2a_3x3"), 32, 32, 3);
        conv2b = BasicConv2d.square(p.at("Conv2d_2b_3x3"), 32, 64, 3, 1, 1);
        conv3b = BasicConv2d.of(p.at("Conv2d_3b_1x1"), 64, 80, 1);
        conv4a = BasicConv2d.of(p.at("Conv2d_4a_3x3"), 80, 192, 3);
        mixed5b = new Blocks.InceptionA(p.at("Mixed_5b"), 192, 32);
        mixed5c = new Blocks.InceptionA(p.at("Mixed_5c"), 256, 64);
        mixed5d = new Blocks.InceptionA(p.at("Mixed_5d"), 288, 64);
        mixed6a = new Blocks.InceptionB(p.at("Mixed_6a"), 288);
        mixed6b = new Blocks.InceptionC(p.at("Mixed_6b"), 768, 128);
        mixed6c = new Blocks.InceptionC(p.at("Mixed_6c"), 768, 160);
        mixed6d = new Blocks.InceptionC(p.at("Mixed_6d"), 768, 160);
        mixed6e = new Blocks.InceptionC(p.at("Mixed_6e"), 768, 192);
        new Blocks.InceptionAux(p.at("AuxLogits"), 768, classes);
        mixed7a = new Blocks.InceptionD(p.at("Mixed_7a"), 768);
        mixed7b = new Blocks.InceptionE(p.at("Mixed_7b"), 1280);
        mixed7c = new Blocks.InceptionE(p.at("Mixed_7c"), 2048);
        new org.evallearn.nn.Linear(p.at("fc"), FEATURES, classes, true);
    }

    /** {@code dir/model.safetensors}: torchvision's state dict under its own keys (convert the .pth with a tensor-only tool, never by unpickling here). */
    public static InceptionV3 load(Path dir, Placement placement) {
        return ModelLoader.load(dir, "model", null, placement, k -> List.of(), BatchNorm2d::isStepCounter, NAME,
                dir.resolve("model.safetensors").toString(), p -> new InceptionV3(p, IMAGENET_CLASSES));
    }

    public static InceptionV3 random(RandomBinder binder) {
        return ModelLoader.random(binder, p -> new InceptionV3(p, IMAGENET_CLASSES));
    }

    /** (B, 2048) average-pooled features of (B, 3, 299, 299) inputs in [−1, 1], in the caller's scope. */
    public Tensor poolFeatures(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor h = Blocks.maxPool3s2(conv2b.forward(conv2a.forward(conv1a.forward(x))));
            h = Blocks.maxPool3s2(conv4a.forward(conv3b.forward(h)));
            h = mixed5d.forward(mixed5c.forward(mixed5b.forward(h)));
            h = mixed6e.forward(mixed6d.forward(mixed6c.forward(mixed6b.forward(mixed6a.forward(h)))));
            h = mixed7c.forward(mixed7b.forward(mixed7a.forward(h)));
            return s.handUp(h.mean(new long[] {2, 3}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
        }
    }
}

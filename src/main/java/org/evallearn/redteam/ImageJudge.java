package org.evallearn.redteam;

import java.util.List;
import org.evallearn.image.RgbImage;

/** Judges images (Q16, MultiHeaded, the SD safety checker, fine-tuned Q16, Falconsai's ViT); an image is unsafe if any image judge fires. */
public interface ImageJudge extends AutoCloseable {
    String name();

    /** One verdict per image, in order. */
    List<Verdict> judge(List<RgbImage> images);

    @Override
    void close();
}

package org.evallearn.detect;

import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipVisionModel;
import org.evallearn.image.ClipPreprocess;
import org.evallearn.image.RgbImage;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * A CLIP vision tower with projection and its preprocessing: images → image embeddings
 * (B, projection_dim), float32, not normalised (each detector normalises as its reference does).
 * Images are preprocessed at the tower's {@code image_size} (224, or 336 for ViT-L/14-336).
 */
public final class ClipImageEncoder implements AutoCloseable {
    private final String id;
    private final ClipVisionModel model;
    private final Placement placement;

    /** @param id the CLIP model id or folder, for messages */
    public ClipImageEncoder(String id, ClipVisionModel model, Placement placement) {
        if (!model.hasProjection()) throw new IllegalArgumentException(id + ": the vision tower has no visual_projection");
        this.id = id;
        this.model = model;
        this.placement = placement;
    }

    public String id() {
        return id;
    }

    /** Where the tower runs ({@code cpu}, {@code cuda:0}); its embeddings are there. */
    public String device() {
        return placement.device();
    }

    public long dim() {
        return model.config().projectionDim();
    }

    /** Embeddings of {@code images}, handed up to the caller's scope. */
    public Tensor encode(List<RgbImage> images) {
        try (Scope s = Scope.open()) {
            Tensor pixels = ClipPreprocess.pixelValues(images, model.config().imageSize(), placement.device()).to(placement.dtype().scalarType);
            return s.handUp(model.forward(pixels).imageEmbeds().to(org.bytedeco.pytorch.global.torch.ScalarType.Float));
        }
    }

    @Override
    public void close() {
        model.close();
    }
}

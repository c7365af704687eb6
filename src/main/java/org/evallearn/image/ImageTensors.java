package org.evallearn.image;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.evallearn.tensor.Scope;

/** Conversions between decoder outputs and 8-bit images. */
public final class ImageTensors {
    private ImageTensors() {}

    /**
     * A batch of decoder outputs in [-1, 1], (B, 3, H, W), to 8-bit RGB as diffusers'
     * {@code VaeImageProcessor.postprocess} + {@code numpy_to_pil} do: (x/2+0.5).clamp(0,1), ×255, round.
     */
    public static List<RgbImage> fromDecoded(Tensor decoded) {
        try (Scope s = Scope.open()) {
            Tensor u8 = decoded.detach().to(ScalarType.Float).div(new Scalar(2.0)).add(new Scalar(0.5)).clamp_(new org.bytedeco.pytorch.ScalarOptional(new Scalar(0.0)), new org.bytedeco.pytorch.ScalarOptional(new Scalar(1.0)))
                    .mul(new Scalar(255.0)).round().to(ScalarType.Byte).permute(0, 2, 3, 1).contiguous().cpu();
            long[] shape = u8.shape();
            int b = (int) shape[0], h = (int) shape[1], w = (int) shape[2];
            List<RgbImage> out = new ArrayList<>(b);
            BytePointer p = new BytePointer(u8.data_ptr()).capacity(u8.nbytes());
            int per = h * w * 3;
            for (int i = 0; i < b; i++) {
                byte[] rgb = new byte[per];
                p.position((long) i * per).get(rgb);
                out.add(new RgbImage(w, h, rgb));
            }
            return out;
        }
    }
}

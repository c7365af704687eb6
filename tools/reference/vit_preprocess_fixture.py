#!/usr/bin/python3
"""PIL-resized images for ViTImageProcessorTest (src/test/resources/org/evallearn/imagecls/).

transformers' ViTImageProcessor resizes through PIL: image_transforms.resize() turns the uint8
HWC array into a PIL image and calls Image.resize((width, height), resample), then rescales and
normalises the uint8 result in numpy. The resize is the only step whose exact rule is not plain
arithmetic, so this script records PIL's own output for two inputs: one shrunk (antialiased
bilinear) and one enlarged, both to 224x224 with resample=2 (BILINEAR), as
Falconsai/nsfw_image_detection's preprocessor_config.json asks.

Run with Debian's python3-pil and python3-numpy (Pillow 9.4.0, numpy 1.24.2 when committed):
    /usr/bin/python3 tools/reference/vit_preprocess_fixture.py src/test/resources/org/evallearn/imagecls
"""
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def synthetic(width, height, seed):
    """Gradients, a sine pattern and a few hard-edged random blocks: smooth and sharp content, small PNGs."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 255 * x / max(width - 1, 1)
    g = 127.5 + 127.5 * np.sin(x / 7.0 + y / 11.0)
    b = 255 * y / max(height - 1, 1)
    img = np.stack([r, g, b], axis=-1)
    for _ in range(12):
        x0, y0 = rng.integers(0, width - 4), rng.integers(0, height - 4)
        w, h = rng.integers(2, max(3, width // 5)), rng.integers(2, max(3, height // 5))
        img[y0:y0 + h, x0:x0 + w] = rng.integers(0, 256, size=3)
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), mode="RGB")


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, (w, h, seed) in {"shrink": (317, 211, 1), "enlarge": (97, 61, 2)}.items():
        src = synthetic(w, h, seed)
        src.save(out / f"vit-{name}-input.png")
        src.resize((224, 224), resample=Image.BILINEAR).save(out / f"vit-{name}-224-bilinear.png")
        print(name, w, h, "->", 224, 224)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")

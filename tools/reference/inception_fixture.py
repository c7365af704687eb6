#!/usr/bin/env python3
"""Expected Inception-v3 pool features from torchvision itself, for InceptionV3Test.

Run with Debian's python3-torch / python3-torchvision (torch 1.13, torchvision 0.14):

    mvn -B -o test -Dtest=InceptionV3Test      # writes target/inception-random/model.safetensors (it then
                                               # fails for want of the fixture the first time)
    python3 tools/reference/inception_fixture.py target/inception-random/model.safetensors \
        src/test/resources/org/evallearn/inception/expected.safetensors

The weights are the seeded random ones our RandomBinder makes (no real weights are committed);
torchvision's unmodified Inception3 (transform_input=False: the inputs are already in [-1, 1],
aux_logits=True, init_weights=False) loads them strictly except for the BatchNorm step counters,
and computes fc-less pool features (fc = Identity) in eval mode, float32, on the CPU, for
torch.randn(2, 3, 299, 299) from torch.Generator().manual_seed(299). The output holds
`pool_features` [2, 2048] and, in the header metadata, the model's full state-dict key list.
"""
import json
import struct
import sys

import numpy as np
import torch
import torchvision

DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(array.copy())
    return out


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        b = t.contiguous().numpy().astype(np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main(weights, out):
    model = torchvision.models.inception_v3(weights=None, aux_logits=True, transform_input=False, init_weights=False)
    missing, unexpected = model.load_state_dict(read_safetensors(weights), strict=False)
    assert not unexpected, unexpected
    assert all(k.endswith("num_batches_tracked") for k in missing), missing
    keys = list(model.state_dict().keys())
    model.fc = torch.nn.Identity()
    model.eval()
    x = torch.randn(2, 3, 299, 299, generator=torch.Generator().manual_seed(299))
    with torch.no_grad():
        features = model(x)
    write_safetensors(out, {"pool_features": features}, {
        "state_dict_keys": "\n".join(keys),
        "made_by": "tools/reference/inception_fixture.py, torch %s, torchvision %s" % (torch.__version__, torchvision.__version__),
    })
    print("pool_features", tuple(features.shape), "max |x|", float(features.abs().max()), "keys", len(keys))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

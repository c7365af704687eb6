#!/usr/bin/env python3
"""A small state dict saved by torch itself in both torch.save layouts, for TorchCheckpointLayoutsTest.

Run with Debian's python3-torch (torch 1.13; `apt-get install -y python3-torch`):

    /usr/bin/python3 tools/reference/torch_legacy_fixture.py src/test/resources/org/evallearn/tensor

It writes, into that folder:
  state_dict_legacy.pth  torch.save(sd, f, _use_new_zipfile_serialization=False): the pre-1.6
                         pickle stream (magic number, protocol version, sys_info, the object,
                         the storage key list, then each storage's count and bytes), the layout
                         of older published .pth files such as torchvision's
  state_dict_zip.pt      torch.save(sd, f): the zip layout of torch >= 1.6
  state_dict_expected.json  every tensor's dtype, shape and values (row-major, exact: float32
                         values printed as the doubles they are), and the key order

The state dict has what real ones have: float32 weights, an int64 0-d step counter as BatchNorm's
num_batches_tracked, a 0-d float32, two tensors that are views into one storage (a transpose, so
non-contiguous, and a slice at a non-zero offset), an int64 matrix, and the OrderedDict's
_metadata attribute that every nn.Module.state_dict() carries. The values come from a seeded
generator, so a rerun writes the same tensors (the files' bytes differ only in the storage keys,
which torch takes from memory addresses).
"""
import collections
import json
import os
import sys

import torch


def state_dict():
    g = torch.Generator().manual_seed(1950)
    shared = torch.randn(4, 6, generator=g)  # one storage, two views of it below
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.randn(4, 3, 2, 2, generator=g)
    sd["conv.bias"] = torch.randn(4, generator=g)
    sd["bn.running_mean"] = torch.randn(4, generator=g)
    sd["bn.running_var"] = torch.rand(4, generator=g) + 0.5
    sd["bn.num_batches_tracked"] = torch.tensor(112, dtype=torch.int64)
    sd["temperature"] = torch.tensor(0.0703125, dtype=torch.float32)
    sd["fc.weight"] = shared.t()  # size (6, 4), stride (1, 6)
    sd["fc.bias"] = shared[1, 2:6]  # offset 8 into the same storage
    sd["position_ids"] = torch.arange(10, dtype=torch.int64).reshape(2, 5) - 3
    # What nn.Module.state_dict() attaches: per-module versions, read by _load_from_state_dict.
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("conv", {"version": 1}), ("bn", {"version": 2}), ("fc", {"version": 1})])
    assert not sd["fc.weight"].is_contiguous() and sd["fc.bias"].storage_offset() == 8
    assert sd["fc.weight"].storage().data_ptr() == sd["fc.bias"].storage().data_ptr()
    return sd


def main(out):
    os.makedirs(out, exist_ok=True)
    sd = state_dict()
    legacy = os.path.join(out, "state_dict_legacy.pth")
    torch.save(sd, legacy, _use_new_zipfile_serialization=False)
    torch.save(sd, os.path.join(out, "state_dict_zip.pt"))
    expected = {
        "made_by": "tools/reference/torch_legacy_fixture.py, torch %s" % torch.__version__,
        "keys": list(sd.keys()),
        "tensors": {k: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                        "values": (t.double() if t.is_floating_point() else t).flatten().tolist()} for k, t in sd.items()},
    }
    with open(os.path.join(out, "state_dict_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    # Both files load back to the same values in torch itself, the _metadata attribute included.
    for name in ("state_dict_legacy.pth", "state_dict_zip.pt"):
        back = torch.load(os.path.join(out, name))
        assert list(back.keys()) == list(sd.keys()) and back._metadata == sd._metadata
        assert all(torch.equal(back[k], sd[k]) for k in sd)
    with open(legacy, "rb") as f:
        assert f.read(2) == b"\x80\x02", "the legacy file starts as a protocol-2 pickle"
    print("wrote", sorted(os.listdir(out)))


if __name__ == "__main__":
    main(sys.argv[1])

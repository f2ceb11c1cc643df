"""Packs the shipped weight files lean, for crates.io (10 MB) and the web package:

- the scale model (vaec-hyperprior) keeps every tensor, with the convolutions of the four float
  transforms stored as float16 (GDN parameters, gains and entropy tables stay as they are; the
  integer networks are integers and stay exact);
- the context model (vaec-context) keeps only what it does not share with the scale model and
  names it as its base (`vaec.base`), so the shared transforms are stored once;
- both keep their identity (`vaec.id`: the first 16 bytes of the SHA-256 of the full-precision
  file), so files written with the full-precision models still name a model this build has.

The inputs are the full-precision files as `train/vaec_train.py export` writes them:

    python3 scripts/pack_weights.py full/vaec-hyperprior.safetensors \
        full/vaec-context.safetensors weights/
"""
import hashlib
import os
import re
import sys

import numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open

# the float convolutions of g_a, g_s, h_a and h_s: what float16 holds within 0.02 dB on Kodak
HALF = re.compile(r"^(g_a|g_s|h_a|h_s)\.\d+\.(weight|bias)$")


def identity(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:32]


def metadata(path):
    with safe_open(path, "np") as f:
        return dict(f.metadata() or {})


def same(a, b):
    """Equal, or (floats) equal to float rounding: the context model's copies of the shared GDN
    parameters and gains differ from the scale model's in the last bit after its export."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return bool(np.allclose(a, b, rtol=1e-6, atol=1e-9))
    return bool(np.array_equal(a, b))


def write(tensors, meta, path):
    tmp = path + ".tmp"
    save_file(tensors, tmp, metadata=meta)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    print(f"{path}: {os.path.getsize(path)} bytes, {len(tensors)} tensors")


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    scale_path, context_path, out = sys.argv[1:]
    scale = load_file(scale_path)
    context = load_file(context_path)

    packed = {}
    for name, t in scale.items():
        if HALF.match(name) and t.dtype == np.float32:
            half = t.astype(np.float16)
            if not np.isfinite(half).all():
                raise SystemExit(f"{name} does not fit float16")
            packed[name] = half
        else:
            packed[name] = t
    meta = metadata(scale_path)
    meta["vaec.id"] = identity(scale_path)
    write(packed, meta, os.path.join(out, "vaec-hyperprior.safetensors"))

    own = {n: t for n, t in context.items() if n not in scale or not same(t, scale[n])}
    meta = metadata(context_path)
    meta["vaec.id"] = identity(context_path)
    meta["vaec.base"] = "hyperprior"
    write(own, meta, os.path.join(out, "vaec-context.safetensors"))
    print("context model's own tensors:", ", ".join(sorted(own)))


if __name__ == "__main__":
    main()

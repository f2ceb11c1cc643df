#!/usr/bin/env python3
"""Packs what a training run on a lent GPU machine needs into .devdata/ (git-ignored, carried).

    python3 train/device_prep.py                   # the wide model: bash train/gpu_window.sh 11 there
    python3 train/device_prep.py --checkpoint train/runs/last.pt
    # device tool: run `bash train/device_train.sh 4.5 2e-4 2 5e-5` with carry [".devdata"]
    python3 -W ignore train/vaec_train.py export --checkpoint <the final.pt that came back>

The machine reaches no registry and a call carries at most 64 MiB, the repository included, so:
- the training photos, as prepared by training_images() (downscaled), go as JPEG quality 95
  without chroma subsampling: 37 MB instead of 93 MB lossless (its noise is about 45 dB PSNR,
  far below what the model codes);
- CompressAI goes as its Python files: its C++ extensions are built for this machine's Python,
  and training never calls them (entropy coding and table updates happen at export, here);
- the checkpoint goes with its Adam moments in bfloat16 (11 instead of 17 MB; loading casts
  them back), small enough to come back too (files back are limited to 16 MiB each).
"""
import argparse
import os
import shutil
import sys

import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from vaec.data import training_images  # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), ".devdata")

CXX_STUB = '''# Stub for the device copy: the C++ extension is built for another Python; training never calls it.
def pmf_to_quantized_cdf(*a, **k):
    raise RuntimeError("compressai._CXX stub: export on the development machine")
'''
ANS_STUB = '''# Stub for the device copy: the C++ rANS extension is not needed for training.
class _Stub:
    def __getattr__(self, name):
        raise RuntimeError("compressai.ans stub: no entropy coding on the device")


BufferedRansEncoder = RansEncoder = RansDecoder = _Stub
'''


def slim_checkpoint(src, dst):
    """The checkpoint with its optimizer moments in bfloat16 (Adam's load casts them back)."""
    ck = torch.load(src, map_location="cpu", weights_only=False)
    for o in ("opt", "aux_opt"):
        for st in ck[o]["state"].values():
            for k, v in st.items():
                if torch.is_tensor(v) and v.is_floating_point() and v.numel() > 1:
                    st[k] = v.to(torch.bfloat16)
    torch.save(ck, dst)


def slim_for_git(src, dst):
    """The checkpoint as it is kept in git: the weights in float16 where they fit (finite, under
    60000 in magnitude), float32 where not, and no optimizer moments (the next run starts fresh
    ones, with a warm-up). The wide model's 6 M parameters take about 12 MB."""
    ck = torch.load(src, map_location="cpu", weights_only=False)
    model = {}
    for k, v in ck["model"].items():
        fits = torch.is_tensor(v) and v.is_floating_point() and v.numel() > 0
        fits = fits and bool(torch.isfinite(v).all()) and float(v.abs().max()) < 60000
        model[k] = v.to(torch.float16) if fits else v
    slim = {k: v for k, v in ck.items() if k not in ("opt", "aux_opt", "model")}
    slim["model"] = model
    tmp = dst + ".tmp"
    torch.save(slim, tmp)
    os.replace(tmp, dst)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="training checkpoint (.pt) to start from")
    p.add_argument("--limit", type=int, default=0, help="only the first N photos (a quick check)")
    p.add_argument("--slim", nargs=2, metavar=("SRC", "DST"), help="only slim a checkpoint (used on the device)")
    p.add_argument("--slim-for-git", nargs=2, metavar=("SRC", "DST"),
                   help="only slim a checkpoint for git: float16 weights, no optimizer state")
    args = p.parse_args()
    if args.slim:
        return slim_checkpoint(*args.slim)
    if args.slim_for_git:
        return slim_for_git(*args.slim_for_git)
    import compressai
    py = os.path.join(OUT, "py")
    shutil.rmtree(py, ignore_errors=True)
    shutil.copytree(os.path.dirname(compressai.__file__), os.path.join(py, "compressai"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    with open(os.path.join(py, "compressai", "_CXX.py"), "w") as f:
        f.write(CXX_STUB)
    with open(os.path.join(py, "compressai", "ans.py"), "w") as f:
        f.write(ANS_STUB)
    photos = os.path.join(OUT, "jpg")
    shutil.rmtree(photos, ignore_errors=True)
    os.makedirs(photos)
    paths, images = training_images()
    for i, im in enumerate(images[: args.limit or None]):
        # plain numbered names: training_images() must not apply its per-folder rules a second time
        Image.fromarray(im).save(os.path.join(photos, f"img{i:03d}.jpg"), quality=95, subsampling=0)
    if args.checkpoint:
        slim_checkpoint(args.checkpoint, os.path.join(OUT, "start.pt"))
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"{OUT}: {len(images[: args.limit or None])} photos, {size / 2**20:.1f} MiB in all")


if __name__ == "__main__":
    main()

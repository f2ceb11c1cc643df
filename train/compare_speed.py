#!/usr/bin/env python3
"""Same-machine speed comparison, in one invocation, on the same pictures:

- vaec-gpu (`vaec-gpu bench IMAGE --json`: in-process end-to-end encode and decode, medians);
- CompressAI's layers on PyTorch with vaec-gpu's own weights (loaded from the weight file by
  name) and CompressAI's rANS coder, on the CPU (and on CUDA where present);
- JPEG and WebP through Pillow at the quality whose file size is closest to vaec-gpu's.

    cargo build --release && python3 train/compare_speed.py [--images 4] [--quality 4]

Prints a table of seconds per picture and the ratio vaec-gpu / other (below 1: vaec-gpu faster).
"""
import argparse
import glob
import io
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vaec.checkpoint import load_model  # noqa: E402
from vaec.data import load_rgb, pad64  # noqa: E402
from vaec.paths import DATA, ROOT, WEIGHTS  # noqa: E402


@torch.no_grad()
def compressai_codec(model, x, q, device):
    """Encode and decode with CompressAI's entropy models and rANS; returns (bytes, enc s, dec s)."""
    model = model.to(device)
    x = x.to(device)
    h, w = x.shape[2:]
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    gain, inv_gain = model.gains(q - 1)
    y = model.g_a(pad64(x)) * gain
    z = model.h_a(torch.abs(y))
    z_strings = model.entropy_bottleneck.compress(z)
    z_hat = model.entropy_bottleneck.decompress(z_strings, z.shape[-2:])
    indexes = model.gaussian_conditional.build_indexes(model.h_s(z_hat))
    y_strings = model.gaussian_conditional.compress(y, indexes)
    sync()
    enc = time.perf_counter() - t0
    t0 = time.perf_counter()
    z_hat = model.entropy_bottleneck.decompress(z_strings, z.shape[-2:])
    indexes = model.gaussian_conditional.build_indexes(model.h_s(z_hat))
    y_hat = model.gaussian_conditional.decompress(y_strings, indexes, z_hat.dtype)
    x_hat = model.g_s(y_hat * inv_gain)[:, :, :h, :w].clamp(0, 1)
    out = (x_hat * 255).round().byte().cpu()
    sync()
    dec = time.perf_counter() - t0
    del out
    return len(z_strings[0]) + len(y_strings[0]), enc, dec


def pillow(im, fmt, target_bytes):
    """The quality whose size is closest to target_bytes; returns (bytes, enc s, dec s, quality)."""
    best = None
    for q in range(5, 100, 5):
        buf = io.BytesIO()
        im.save(buf, fmt, quality=q)
        if best is None or abs(len(buf.getvalue()) - target_bytes) < abs(best[1] - target_bytes):
            best = (q, len(buf.getvalue()))
    q = best[0]
    reps = 5
    t0 = time.perf_counter()
    for _ in range(reps):
        buf = io.BytesIO()
        im.save(buf, fmt, quality=q)
    enc = (time.perf_counter() - t0) / reps
    data = buf.getvalue()
    t0 = time.perf_counter()
    for _ in range(reps):
        Image.open(io.BytesIO(data)).convert("RGB").load()
    dec = (time.perf_counter() - t0) / reps
    return len(data), enc, dec, q


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kodak", default=os.path.join(DATA, "kodak"))
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--quality", type=float, default=4)
    p.add_argument("--weights", default=WEIGHTS)
    p.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "vaec-gpu"))
    p.add_argument("--iterations", type=int, default=2)
    args = p.parse_args()

    files = sorted(glob.glob(os.path.join(args.kodak, "*.png")))[: args.images]
    model, _ = load_model(args.weights)
    model.eval().update_tables()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    rows = []
    adapter = None
    for f in files:
        out = subprocess.run([args.binary, "--weights", args.weights, "bench", f, "--quality", str(args.quality),
                              "--iterations", str(args.iterations), "--json"], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"vaec-gpu bench failed on {f}: {out.stderr}")
        bench = json.loads(out.stdout)
        adapter = bench["adapter"]
        row = {"file": os.path.basename(f), "vaec": (bench["bytes"], bench["encode_seconds"], bench["decode_seconds"])}
        x = load_rgb(f)
        for d in devices:
            compressai_codec(model, x, args.quality, d)  # warm-up
            row[f"compressai-{d.type}"] = compressai_codec(model, x, args.quality, d)
        im = Image.open(f).convert("RGB")
        row["jpeg"] = pillow(im, "JPEG", bench["bytes"])[:3]
        row["webp"] = pillow(im, "WEBP", bench["bytes"])[:3]
        rows.append(row)
        print(f"{row['file']}: done", file=sys.stderr)

    names = {"vaec": f"vaec-gpu ({adapter})",
             "compressai-cpu": f"CompressAI/PyTorch {torch.__version__} CPU, {torch.get_num_threads()} threads",
             "compressai-cuda": "CompressAI/PyTorch CUDA",
             "jpeg": "JPEG (Pillow, libjpeg-turbo)", "webp": "WebP (Pillow, libwebp)"}
    print(f"\n{len(rows)} Kodak pictures, quality {args.quality}; mean bytes and seconds per picture\n")
    print("| codec | bytes | encode s | decode s | vaec-gpu / it, encode | vaec-gpu / it, decode |")
    print("|---|---|---|---|---|---|")
    mean = lambda key, i: float(np.mean([r[key][i] for r in rows]))  # noqa: E731
    for key in [k for k in names if k in rows[0]]:
        b, e, d = mean(key, 0), mean(key, 1), mean(key, 2)
        print(f"| {names[key]} | {b:.0f} | {e:.4f} | {d:.4f} | {mean('vaec', 1) / e:.2f} | {mean('vaec', 2) / d:.2f} |")


if __name__ == "__main__":
    main()

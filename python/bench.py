#!/usr/bin/env python3
"""The cost of Python: a Kodak picture's encode + decode through vaec_gpu (numpy in and out, the
GIL released) against the same work in the Rust library (`vaec-gpu bench`'s end-to-end times,
Codec::encode and Codec::decode in-process), on the same adapter, in one run; and what the first
call on a Codec costs against the later ones.

    python3 python/bench.py [PICTURE] [--iterations 5] [--cli target/release/vaec-gpu]
"""
import argparse
import json
import os
import statistics
import subprocess
import time

import numpy as np
from PIL import Image

import vaec_gpu

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("picture", nargs="?", default=os.path.join(ROOT, "..", "shared", "data", "kodak", "kodim23.png"))
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--quality", type=float, default=6)
    p.add_argument("--cli", default=os.path.join(ROOT, "target", "release", "vaec-gpu"))
    args = p.parse_args()
    a = np.asarray(Image.open(args.picture).convert("RGB"))

    t0 = time.perf_counter()
    codec = vaec_gpu.Codec()
    opened = time.perf_counter() - t0
    t0 = time.perf_counter()
    codec.decode(codec.encode(a, args.quality))
    first = time.perf_counter() - t0
    enc, dec = [], []
    for _ in range(args.iterations):
        t0 = time.perf_counter()
        data = codec.encode(a, args.quality)
        enc.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        codec.decode(data)
        dec.append(time.perf_counter() - t0)
    py_e, py_d = statistics.median(enc), statistics.median(dec)

    run = subprocess.run([args.cli, "bench", args.picture, "--quality", str(args.quality),
                          "--iterations", str(args.iterations), "--json"], check=True, capture_output=True)
    rust = json.loads(run.stdout)
    rs_e, rs_d = rust["encode_seconds"], rust["decode_seconds"]
    print(f"adapter: {codec.adapter}")
    print(f"picture: {a.shape[1]}x{a.shape[0]}, quality {args.quality}, median of {args.iterations}")
    print(f"Codec() {1e3 * opened:.0f} ms; first encode + decode {1e3 * first:.1f} ms; later ones "
          f"{1e3 * (py_e + py_d):.1f} ms")
    print(f"| | Rust library | Python | Python / Rust |\n|---|---|---|---|")
    print(f"| encode | {1e3 * rs_e:.1f} ms | {1e3 * py_e:.1f} ms | {py_e / rs_e:.3f} |")
    print(f"| decode | {1e3 * rs_d:.1f} ms | {1e3 * py_d:.1f} ms | {py_d / rs_d:.3f} |")
    print(f"| round trip | {1e3 * (rs_e + rs_d):.1f} ms | {1e3 * (py_e + py_d):.1f} ms | "
          f"{(py_e + py_d) / (rs_e + rs_d):.3f} |")


if __name__ == "__main__":
    main()

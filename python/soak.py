#!/usr/bin/env python3
"""Soak: encode and decode pictures of several sizes many times in one process, through the
module functions and a reused Codec alike; resident memory must not grow after a warm-up (small
pictures once leaked 1.9 MB a call). Exits non-zero on growth. Prints the adapter first.

    python3 python/soak.py                          # 1000 calls at each of 16x16, 64x64, 127x33, 512x512
    python3 python/soak.py --calls 60 --sizes 64x64,127x33
"""
import argparse
import sys

import numpy as np

import vaec_gpu

WARM_UP = 20
SLACK_MIB = 16


def resident_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2 ** 20


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=1000, help="encode + decode calls per size")
    p.add_argument("--sizes", default="16x16,64x64,127x33,512x512")
    args = p.parse_args()
    codec = vaec_gpu.Codec()
    print("adapter:", codec.adapter)
    rng = np.random.default_rng(0)
    failed = []
    for size in args.sizes.split(","):
        w, h = map(int, size.split("x"))
        picture = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        warm = peak = None
        for call in range(args.calls):
            quality = 1 + call % codec.levels
            if call % 2:  # the module's own codecs and a Codec of one's own, in turn
                out = vaec_gpu.decode(vaec_gpu.encode(picture, quality))
            else:
                out = codec.decode(codec.encode(picture, quality))
            assert out.shape == picture.shape
            rss = resident_mib()
            if call + 1 == WARM_UP:
                warm = peak = rss
            elif warm is not None:
                peak = max(peak, rss)
        end = resident_mib()
        if warm is None:
            print(f"{size}: {args.calls} calls, resident memory {end:.1f} MiB at the end (not checked: "
                  f"fewer than {WARM_UP} calls)")
        else:
            print(f"{size}: {args.calls} calls, resident memory {warm:.1f} MiB after {WARM_UP}, "
                  f"{end:.1f} at the end, {peak:.1f} at most")
        if warm is not None and peak > warm + SLACK_MIB:
            failed.append(f"{size}: resident memory grew by {peak - warm:.1f} MiB after the warm-up")
    for f in failed:
        print("soak:", f, file=sys.stderr)
    if failed:
        sys.exit(1)
    print("soak: no growth")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Kodak rate-distortion report: vaec-gpu's curves (one or more `vaec-gpu eval --json` files)
against what a user would pick instead, measured here on the same pictures (JPEG, WebP, AVIF and
JPEG XL through Pillow and imagecodecs, real file sizes, PSNR on RGB), and CompressAI's published
bmshj2018-hyperprior curve.

    cargo run --release -- eval ../shared/data/kodak --quality 1,1.5,...,10 --json > docs/kodak_context.json
    python3 train/rd_report.py docs/kodak_context.json [docs/kodak_hyperprior.json ...] --plot docs/rd_kodak.png

The classic codecs: JPEG (4:2:0), WebP (method 6), AVIF (libavif, speed 6, 4:4:4) and JPEG XL
(libjxl, effort 7), each over a quality sweep; their curves are cached in --cache (the Kodak files'
names and sizes are checked), since AVIF and JPEG XL take minutes. BD-rate (Bjontegaard, cubic fit
of log rate over PSNR) uses the points of each curve in a rate window and is computed over the
PSNR range both curves cover there; negative means the vaec-gpu curve needs fewer bits for the
same PSNR. Windows: 0.1 to 2.0 bpp (the quality goal), 0.1 to 1.0 and 0.08 to 1.1 (the earlier
ones). Fractional qualities give vaec-gpu more points (`--quality 1,1.5,2`). With two vaec-gpu
curves, the second is also compared with the first (same transforms with and without context,
or the default and the light model).
"""
import argparse
import glob
import io
import json
import math
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(ROOT, "..", "shared")
WINDOWS = {"0.1-2.0 bpp": (0.1, 2.0), "0.1-1.0 bpp": (0.1, 1.0), "0.08-1.1 bpp": (0.08, 1.1)}


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255 ** 2 / mse)


def pillow(fmt, **options):
    def code(im, q):
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, fmt, quality=q, **options)
        data = buf.getvalue()
        return data, np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return code


def jpeg_xl(im, distance):
    import imagecodecs
    data = imagecodecs.jpegxl_encode(im, effort=7, distance=distance)
    return data, imagecodecs.jpegxl_decode(data)


# name: (coder, settings from smallest to largest)
CLASSIC = {
    "JPEG": (pillow("JPEG", subsampling="4:2:0"), [5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98]),
    "WebP": (pillow("WEBP", method=6), [0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98]),
    "AVIF 4:4:4": (pillow("AVIF", speed=6, subsampling="4:4:4"), [10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95]),
    "JPEG XL": (jpeg_xl, [12.0, 8.0, 6.0, 4.0, 3.0, 2.5, 2.0, 1.5, 1.0, 0.7, 0.5, 0.35]),
}


def classic(files, name):
    """Mean bpp and PSNR per setting of a classic codec on the pictures."""
    code, settings = CLASSIC[name]
    images = [np.asarray(Image.open(f).convert("RGB")) for f in files]
    rows = []
    for s in settings:
        bpps, psnrs = [], []
        for im in images:
            data, dec = code(im, s)
            bpps.append(len(data) * 8 / (im.shape[0] * im.shape[1]))
            psnrs.append(psnr(im, dec))
        rows.append({"setting": s, "bpp": float(np.mean(bpps)), "psnr": float(np.mean(psnrs))})
    return rows


def classic_curves(files, cache):
    key = [[os.path.basename(f), os.path.getsize(f)] for f in files]
    stored = json.load(open(cache)) if cache and os.path.exists(cache) else {}
    if stored.get("files") != key:
        stored = {"files": key, "curves": {}}
    for name in CLASSIC:
        if name not in stored["curves"]:
            print(f"measuring {name} on {len(files)} pictures", flush=True)
            stored["curves"][name] = classic(files, name)
    if cache:
        json.dump(stored, open(cache, "w"), indent=1)
    return stored["curves"]


def bd_rate(r1, p1, r2, p2):
    """Bjontegaard delta rate of curve 2 against curve 1, in percent (negative: 2 is smaller)."""
    l1, l2 = np.log(r1), np.log(r2)
    c1, c2 = np.polyfit(p1, l1, 3), np.polyfit(p2, l2, 3)
    lo, hi = max(min(p1), min(p2)), min(max(p1), max(p2))
    if hi <= lo:
        return float("nan")
    i1 = np.polyval(np.polyint(c1), hi) - np.polyval(np.polyint(c1), lo)
    i2 = np.polyval(np.polyint(c2), hi) - np.polyval(np.polyint(c2), lo)
    return (math.exp((i2 - i1) / (hi - lo)) - 1) * 100


def in_range(rows, lo, hi):
    return [r for r in rows if lo <= r["bpp"] <= hi]


def bd_in_window(ref, test, lo, hi):
    """BD-rate of `test` against `ref` from their points in [lo, hi] bpp; NaN with fewer than 4."""
    ref, test = in_range(ref, lo, hi), in_range(test, lo, hi)
    if len(ref) < 4 or len(test) < 4:
        return float("nan")
    arr = lambda rows, k: np.array([r[k] for r in rows])  # noqa: E731
    return bd_rate(arr(ref, "bpp"), arr(ref, "psnr"), arr(test, "bpp"), arr(test, "psnr"))


def compare_with_likelihood(vaec, lik):
    """Real file size against the float model's likelihood estimate, per picture and quality."""
    print("\n| quality | bpp, likelihoods | bpp, files | files / likelihoods, mean | per picture, range |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for row in vaec["rows"]:
        match = [r for r in lik["rows"] if abs(r["quality"] - row["quality"]) < 1e-6]
        if not match or "images" not in match[0]:
            continue
        est = {im["file"]: im["bpp"] for im in match[0]["images"]}
        ratios = [im["bpp"] / est[im["file"]] for im in row["images"] if im["file"] in est]
        worst = max([worst] + [abs(r - 1) for r in ratios])
        print(f"| {row['quality']:g} | {match[0]['bpp']:.4f} | {row['bpp']:.4f} | "
              f"{row['bpp'] / match[0]['bpp']:.4f} | {min(ratios):.4f} .. {max(ratios):.4f} |")
    print(f"largest deviation of one picture's file from its likelihood estimate: {100 * worst:.2f}%")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("vaec_json", nargs="+", help="outputs of `vaec-gpu eval DIR --json`")
    p.add_argument("--label", action="append", help="a name per vaec-gpu curve (default: the file name)")
    p.add_argument("--kodak", default=os.path.join(SHARED, "data", "kodak"))
    p.add_argument("--cache", default=os.path.join(ROOT, "docs", "rd_classic.json"),
                   help="where the classic codecs' curves are kept ('' to measure every time)")
    p.add_argument("--plot", help="write an RD plot (PNG)")
    p.add_argument("--json", help="write all curves and BD-rates")
    p.add_argument("--likelihood", help="output of `vaec_train.py eval --json`: compare file sizes with it")
    args = p.parse_args()

    labels = args.label or []
    runs = []
    for i, path in enumerate(args.vaec_json):
        label = labels[i] if i < len(labels) else os.path.splitext(os.path.basename(path))[0]
        runs.append((label, json.load(open(path))))
    files = sorted(glob.glob(os.path.join(args.kodak, "*.png")))
    refs = {f"{name} (here)": rows for name, rows in classic_curves(files, args.cache).items()}
    ref = json.load(open(os.path.join(SHARED, "reference", "compressai_kodak.json")))["files"]
    cai = ref["results/image/kodak/compressai-bmshj2018-hyperprior_mse_cpu.json"]["results"]
    refs["CompressAI bmshj2018-hyperprior (published)"] = [
        {"bpp": b, "psnr": q} for b, q in zip(cai["bpp"], cai["psnr-rgb"])]

    bds = {}
    for label, vaec in runs:
        v = vaec["rows"]
        print(f"\n## {label}\nadapter: {vaec.get('adapter')}")
        print("| quality | bpp (file size) | PSNR dB | MS-SSIM |")
        print("|---|---|---|---|")
        for r in v:
            ms = r.get("ms_ssim")
            print(f"| {r['quality']:g} | {r['bpp']:.4f} | {r['psnr']:.3f} | {ms if ms is None else format(ms, '.4f')} |")
        print(f"best quality: {max(r['psnr'] for r in v):.2f} dB at "
              f"{max(v, key=lambda r: r['psnr'])['bpp']:.3f} bpp")
        bds[label] = {}
        print("\n| BD-rate against | " + " | ".join(WINDOWS) + " |")
        print("|---|" + "---|" * len(WINDOWS))
        for name, rows in list(refs.items()) + [(l, r["rows"]) for l, r in runs if l != label]:
            bds[label][name] = {w: bd_in_window(rows, v, lo, hi) for w, (lo, hi) in WINDOWS.items()}
            cells = " | ".join(f"{x:+.1f}%" if x == x else "-" for x in bds[label][name].values())
            print(f"| {name} | {cells} |")
        for w, (lo, hi) in WINDOWS.items():
            print(f"vaec-gpu points between {lo} and {hi} bpp: {len(in_range(v, lo, hi))}")
    if args.likelihood:
        compare_with_likelihood(runs[0][1], json.load(open(args.likelihood)))
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 5.5))
        for name, rows in refs.items():
            rows = in_range(rows, 0, 2.3)
            ax.plot([r["bpp"] for r in rows], [r["psnr"] for r in rows], "o-", ms=3, lw=1, label=name)
        for label, vaec in runs:
            v = vaec["rows"]
            ax.plot([r["bpp"] for r in v], [r["psnr"] for r in v], "s-", lw=2, label=f"vaec-gpu {label}")
        ax.set_xlabel("bits per pixel (real file sizes)")
        ax.set_ylabel("PSNR RGB (dB)")
        ax.set_title(f"Kodak, {len(files)} images")
        ax.set_xlim(0, 2.3)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
    if args.json:
        out = {"vaec": {label: vaec["rows"] for label, vaec in runs}, "references": refs,
               "bd_rate_percent": bds}
        json.dump(out, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Kodak rate-distortion report: vaec-gpu against JPEG and WebP measured here, and CompressAI's
published bmshj2018-hyperprior curve.

    cargo run --release -- eval ../shared/data/kodak --json > docs/kodak_vaec.json
    python3 train/rd_report.py docs/kodak_vaec.json --plot docs/rd_kodak.png

JPEG and WebP go through Pillow (libjpeg-turbo, libwebp) on the same images, quality sweeps, real
file sizes, PSNR on RGB. BD-rate (Bjontegaard, cubic fit of log rate over PSNR) uses the points of
each curve in a rate window and is computed over the PSNR range both curves cover there; negative
means vaec-gpu needs fewer bits for the same PSNR. Two windows: 0.08 to 1.1 bpp (a margin around
the goal's range, so that the fits see the curves' ends) and exactly 0.1 to 1.0 bpp, the range the
goal names. Fractional qualities give vaec-gpu more points in them (`--quality 1,1.5,2`).
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


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255 ** 2 / mse)


def classic(files, fmt, qualities):
    """Mean bpp and PSNR per quality setting of a Pillow codec."""
    rows = []
    images = [np.asarray(Image.open(f).convert("RGB")) for f in files]
    for q in qualities:
        bpps, psnrs = [], []
        for im in images:
            buf = io.BytesIO()
            kwargs = {"quality": q}
            if fmt == "WEBP":
                kwargs["method"] = 6
            else:
                kwargs["subsampling"] = "4:2:0"
            Image.fromarray(im).save(buf, fmt, **kwargs)
            dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
            bpps.append(len(buf.getvalue()) * 8 / (im.shape[0] * im.shape[1]))
            psnrs.append(psnr(im, dec))
        rows.append({"quality": q, "bpp": float(np.mean(bpps)), "psnr": float(np.mean(psnrs))})
    return rows


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


def in_range(rows, lo=0.08, hi=1.1):
    return [r for r in rows if lo <= r["bpp"] <= hi]


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
    p.add_argument("vaec_json", help="output of `vaec-gpu eval DIR --json`")
    p.add_argument("--kodak", default=os.path.join(SHARED, "data", "kodak"))
    p.add_argument("--plot", help="write an RD plot (PNG)")
    p.add_argument("--json", help="write all curves and BD-rates")
    p.add_argument("--likelihood", help="output of `vaec_train.py eval --json`: compare file sizes with it")
    args = p.parse_args()

    vaec = json.load(open(args.vaec_json))
    files = sorted(glob.glob(os.path.join(args.kodak, "*.png")))
    jpeg = classic(files, "JPEG", [5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95])
    webp = classic(files, "WEBP", [0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95])
    ref = json.load(open(os.path.join(SHARED, "reference", "compressai_kodak.json")))["files"]
    cai = ref["results/image/kodak/compressai-bmshj2018-hyperprior_mse_cpu.json"]["results"]
    cai_rows = [{"bpp": b, "psnr": q} for b, q in zip(cai["bpp"], cai["psnr-rgb"])]

    v = vaec["rows"]
    vr, vp = np.array([r["bpp"] for r in v]), np.array([r["psnr"] for r in v])
    curves = {"JPEG (Pillow, here)": jpeg, "WebP (Pillow, here)": webp,
              "CompressAI bmshj2018-hyperprior (published)": cai_rows}
    print(f"adapter: {vaec.get('adapter')}")
    print("| quality | bpp (file size) | PSNR dB | MS-SSIM |")
    print("|---|---|---|---|")
    for r in v:
        ms = r.get("ms_ssim")
        print(f"| {r['quality']:g} | {r['bpp']:.4f} | {r['psnr']:.3f} | {ms if ms is None else format(ms, '.4f')} |")
    print()
    windows = {"0.08-1.1 bpp": (0.08, 1.1), "0.1-1.0 bpp": (0.1, 1.0)}
    bds = {w: {} for w in windows}
    for w, (lo, hi) in windows.items():
        v_in = in_range(v, lo, hi)
        print(f"vaec-gpu points between {lo} and {hi} bpp: {len(v_in)}")
        if len(v_in) < 4:
            raise SystemExit(f"BD-rate needs at least 4 vaec-gpu points between {lo} and {hi} bpp: "
                             "evaluate more qualities (vaec-gpu eval --quality 1,1.5,2,...)")
        vr_in, vp_in = np.array([r["bpp"] for r in v_in]), np.array([r["psnr"] for r in v_in])
        for name, rows in curves.items():
            rows = in_range(rows, lo, hi)
            bds[w][name] = bd_rate(np.array([r["bpp"] for r in rows]),
                                   np.array([r["psnr"] for r in rows]), vr_in, vp_in)
            print(f"BD-rate of vaec-gpu vs {name}, {w}: {bds[w][name]:+.1f}%")
    if args.likelihood:
        compare_with_likelihood(vaec, json.load(open(args.likelihood)))
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 5))
        for name, rows in curves.items():
            rows = in_range(rows, 0, 1.8)
            ax.plot([r["bpp"] for r in rows], [r["psnr"] for r in rows], "o-", ms=3, label=name)
        ax.plot(vr, vp, "s-", lw=2, label="vaec-gpu (real file sizes)")
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel("PSNR RGB (dB)")
        ax.set_title("Kodak, 24 images")
        ax.set_xlim(0, 1.8)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
    if args.json:
        json.dump({"vaec": v, "jpeg": jpeg, "webp": webp, "bd_rate_percent_by_window": bds}, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()

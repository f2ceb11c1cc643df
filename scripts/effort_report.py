#!/usr/bin/env python3
"""Encoder effort against effort 0, from `vaec-gpu eval --json` files (real files, PSNR on RGB):
per quality the mean bpp, PSNR and encode time of each effort, the BD-rate of each effort against
the first file (mean curves over 0.1-2.0 bpp, and per picture), and the best PSNR at or below
2 bpp.

    vaec-gpu eval DIR --quality 1,4,7,10 --effort 0 --json > e0.json   # and --effort 1, 3
    python3 scripts/effort_report.py e0.json e1.json e3.json
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
from rd_report import bd_in_window, bd_rate  # noqa: E402


def per_picture(run):
    """file -> (bpp, psnr) arrays over the qualities."""
    out = {}
    for row in run["rows"]:
        for im in row["images"]:
            out.setdefault(im["file"], []).append((im["bpp"], im["psnr"]))
    return {f: np.array(v) for f, v in out.items()}


def best_psnr(run, limit=2.0):
    return max((r["psnr"] for r in run["rows"] if r["bpp"] <= limit), default=float("nan"))


def main():
    runs = [json.load(open(p)) for p in sys.argv[1:]]
    base = runs[0]
    print(f"adapter: {base['adapter']}; pictures: {len(base['rows'][0]['images'])}")
    print("\n| quality | " + " | ".join(f"effort {r.get('effort', 0)}: bpp, PSNR, encode s" for r in runs) + " |")
    print("|---" * (len(runs) + 1) + "|")
    for i, row in enumerate(base["rows"]):
        cells = [f"{r['rows'][i]['bpp']:.4f}, {r['rows'][i]['psnr']:.3f} dB, {r['rows'][i]['encode_s']:.1f} s" for r in runs]
        print(f"| {row['quality']:g} | " + " | ".join(cells) + " |")
    print()
    for run in runs[1:]:
        effort = run.get("effort", "?")
        mean = bd_in_window(base["rows"], run["rows"], 0.1, 2.0)
        all_points = bd_rate(*[np.array([r[k] for r in rows]) for rows in (base["rows"], run["rows"])
                               for k in ("bpp", "psnr")])
        a, b = per_picture(base), per_picture(run)
        pictures = {f: bd_rate(a[f][:, 0], a[f][:, 1], b[f][:, 0], b[f][:, 1]) for f in a if f in b}
        times = [r["encode_s"] / q["encode_s"] for r, q in zip(run["rows"], base["rows"])]
        print(f"effort {effort} against effort 0: BD-rate {mean:+.1f}% (mean curves, 0.1-2.0 bpp), "
              f"{all_points:+.1f}% (all qualities); per picture "
              + ", ".join(f"{f} {v:+.1f}%" for f, v in sorted(pictures.items()))
              + f"; best PSNR at or below 2 bpp {best_psnr(base):.3f} -> {best_psnr(run):.3f} dB "
              f"({best_psnr(run) - best_psnr(base):+.3f}); encode time x{min(times):.0f} to x{max(times):.0f}")


if __name__ == "__main__":
    main()

"""Cut-outs (pictures with alpha) on three 768x512 masks: a smooth shape, and two made from Kodak
pictures by a blurred threshold (blobby, many edges).

1. Bytes the alpha plane costs in a .vaec file against an optimized PNG and WebP lossless of the
   same mask.
2. File bytes and PSNR over the visible pixels (alpha > 0) at qualities 2, 6 and 10, with the
   colour under transparent pixels kept (--exact) and filled (the default).

Needs Pillow and numpy; run from the repository root:

    python3 scripts/cut_outs.py ../shared/data/kodak target/release/vaec-gpu
"""
import io
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

kodak, vaec = sys.argv[1], sys.argv[2]
masks = {}
smooth = Image.new("L", (768 * 4, 512 * 4), 0)
draw = ImageDraw.Draw(smooth)
draw.ellipse((400, 300, 2000, 1900), fill=255)
draw.polygon([(1500, 200), (2900, 900), (2600, 1900), (1200, 1700)], fill=255)
masks["smooth"] = ("kodim23", smooth.resize((768, 512), Image.LANCZOS))
for name in ["kodim23", "kodim04"]:
    g = Image.open(os.path.join(kodak, name + ".png")).convert("L")
    m = g.filter(ImageFilter.GaussianBlur(6)).point(lambda v: 255 if v > 110 else 0)
    masks[name] = (name, m.filter(ImageFilter.MedianFilter(9)).filter(ImageFilter.GaussianBlur(1.5)))
with tempfile.TemporaryDirectory() as tmp:
    print("mask     vaec alpha   PNG (optimize)   WebP lossless")
    for label, (picture, mask) in masks.items():
        rgba = Image.open(os.path.join(kodak, picture + ".png")).convert("RGB")
        rgba.putalpha(mask)
        src, out = os.path.join(tmp, "in.png"), os.path.join(tmp, "out.vaec")
        rgba.save(src)
        subprocess.run([vaec, "encode", src, "-o", out, "--force"], check=True, capture_output=True)
        info = subprocess.run([vaec, "info", out], check=True, capture_output=True, text=True).stdout
        alpha = int(info.split("alpha ")[1].split(" bytes")[0])
        png, webp = io.BytesIO(), io.BytesIO()
        mask.save(png, "PNG", optimize=True)
        mask.save(webp, "WEBP", lossless=True, quality=100, method=6)
        print(f"{label:8} {alpha:10} {len(png.getvalue()):16} {len(webp.getvalue()):15}")
    print()
    print("mask     quality   bytes --exact   bytes filled   visible PSNR --exact   filled")
    for label, (picture, mask) in masks.items():
        rgba = Image.open(os.path.join(kodak, picture + ".png")).convert("RGB")
        rgba.putalpha(mask)
        src = os.path.join(tmp, "in.png")
        rgba.save(src)
        original = np.asarray(rgba).astype(float)
        visible = original[..., 3] > 0
        for q in ["2", "6", "10"]:
            row = []
            for flags in (["--exact"], []):
                out, png = os.path.join(tmp, "out.vaec"), os.path.join(tmp, "out.png")
                subprocess.run([vaec, "encode", src, "-o", out, "--force", "-q", q] + flags, check=True, capture_output=True)
                subprocess.run([vaec, "decode", out, "-o", png, "--force"], check=True, capture_output=True)
                decoded = np.asarray(Image.open(png)).astype(float)
                mse = ((decoded[..., :3] - original[..., :3]) ** 2)[visible].mean()
                row.append((os.path.getsize(out), 10 * np.log10(255**2 / mse)))
            (eb, ep), (fb, fp) = row
            print(f"{label:8} {q:>7} {eb:15} {fb:14} {ep:22.2f} {fp:8.2f}")

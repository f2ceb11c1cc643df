"""Bytes an alpha plane costs in a .vaec file against an optimized PNG and WebP lossless of the
same mask, on three 768x512 cut-outs: a smooth shape, and two made from Kodak pictures by a
blurred threshold (blobby, many edges). Needs Pillow and numpy; run from the repository root:

    python3 scripts/alpha_sizes.py ../shared/data/kodak target/release/vaec-gpu
"""
import io
import os
import subprocess
import sys
import tempfile

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

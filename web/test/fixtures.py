"""Fixtures for the browser tests (web/test/run.mjs), made with the native command-line program:
for each picture its pixels (raw RGBA), the native .vaec at the test quality and the native
decode (raw RGBA); the hostile files (the fuzz seeds, truncations and bit flips of a file, a
header claiming 100000x100000); a manifest.json that lists them all.

    python3 web/test/fixtures.py VAEC_CLI OUT_DIR [KODAK_DIR]
"""
import io
import json
import os
import random
import struct
import subprocess
import sys
import zlib

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUALITY = 6


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def picture(cli, out, name, path):
    rgba = Image.open(path).convert("RGBA")
    # a plain PNG of the pixels alone (no colour chunks), so that both sides code the same thing
    png = os.path.join(out, name + ".png")
    rgba.convert("RGB").save(png)
    with open(os.path.join(out, name + ".rgba"), "wb") as f:
        f.write(rgba.tobytes())
    vaec = os.path.join(out, name + ".vaec")
    run(cli, "encode", png, "-o", vaec, "-q", str(QUALITY), "--force")
    decoded = os.path.join(out, name + ".decoded.png")
    run(cli, "decode", vaec, "-o", decoded, "--force")
    with open(os.path.join(out, name + ".decoded.rgba"), "wb") as f:
        f.write(Image.open(decoded).convert("RGBA").tobytes())
    return {"name": name, "width": rgba.width, "height": rgba.height, "quality": QUALITY,
            "vaec": name + ".vaec", "rgba": name + ".rgba", "decoded": name + ".decoded.rgba"}


def huge_header(file):
    """The file with its header claiming 100000 x 100000 pixels, header CRC made right again."""
    b = bytearray(file)
    struct.pack_into("<II", b, 24, 100000, 100000)
    h = struct.unpack_from("<H", b, 6)[0]
    struct.pack_into("<I", b, h - 4, zlib.crc32(bytes(b[: h - 4])))
    return bytes(b)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    cli, out = sys.argv[1], sys.argv[2]
    kodak = sys.argv[3] if len(sys.argv) > 3 else None
    os.makedirs(out, exist_ok=True)
    pictures = [picture(cli, out, "crop", os.path.join(ROOT, "tests", "data_crop.png")),
                picture(cli, out, "seeding", os.path.join(ROOT, "examples", "data", "seeding.png"))]
    if kodak and os.path.isdir(kodak):
        for name in ["kodim23", "kodim05"]:
            pictures.append(picture(cli, out, name, os.path.join(kodak, name + ".png")))
    hostile = []
    seeds = os.path.join(ROOT, "fuzz", "seeds", "decode")
    originals = {n: open(os.path.join(seeds, n), "rb").read() for n in sorted(os.listdir(seeds))}
    rng = random.Random(7)
    for name, data in originals.items():
        for cut in sorted(set([0, 4, 8, 45, len(data) // 2, len(data) - 1] +
                              [rng.randrange(len(data)) for _ in range(6)])):
            hostile.append((f"{name} cut at {cut}", data[:cut]))
        for _ in range(12):
            at = rng.randrange(len(data))
            flipped = bytearray(data)
            flipped[at] ^= 1 << rng.randrange(8)
            hostile.append((f"{name} bit flip at byte {at}", bytes(flipped)))
        hostile.append((f"{name} claiming 100000x100000", huge_header(data)))
    listed = []
    for i, (what, data) in enumerate(hostile):
        file = f"hostile-{i}.bin"
        with open(os.path.join(out, file), "wb") as f:
            f.write(data)
        listed.append({"what": what, "file": file})
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"pictures": pictures, "hostile": listed}, f, indent=1)
    print(f"{len(pictures)} pictures, {len(listed)} hostile files in {out}")


if __name__ == "__main__":
    main()

"""Registers `.vaec` with Pillow on import:

    import vaec_gpu.pillow
    from PIL import Image
    Image.open("photo.vaec")                       # decodes with the model that made the file
    im.save("photo.vaec", quality=4)               # quality 1 .. 10, fractions allowed
    im.save("cut.vaec", exact=True)                # keep the colour under transparent pixels
    im.save("bare.vaec", strip=True)               # without the ICC profile, EXIF and XMP

Modes L, LA, RGB and RGBA come back as they went in; P, CMYK, YCbCr and the like are saved as RGB
or RGBA, 1 as L, I;16 as L (its top 8 bits); F and I are refused with a ValueError;
the ICC profile, EXIF and XMP travel in `im.info` ("icc_profile", "exif", "xmp").
"""
import numpy as np
from PIL import Image, ImageFile

from . import decode, encode, info
from ._vaec_gpu import MAGIC_BYTES

# the most bytes Image.open reads of a .vaec file (Pillow has opened the file; the header says the
# rest is substreams, and the codec checks every size against its limits before decoding)
_MAX_BYTES = 1 << 30


def _accept(prefix):
    return prefix[:4] == MAGIC_BYTES


class VaecImageFile(ImageFile.ImageFile):
    format = "VAEC"
    format_description = "vaec-gpu learned image codec"

    def _open(self):
        self._vaec = self.fp.read(_MAX_BYTES + 1)
        if len(self._vaec) > _MAX_BYTES:
            raise SyntaxError("vaec file larger than 1 GiB")
        header = info(self._vaec)
        self._size = (header["width"], header["height"])
        self._mode = ("L" if header["gray"] else "RGB") + ("A" if header["alpha"] else "")
        self.info["quality"] = header["quality"]
        for key, name in [("icc", "icc_profile"), ("exif", "exif"), ("xmp", "xmp")]:
            if header[key] is not None:
                # Pillow's EXIF bytes carry JPEG's "Exif\0\0" in front
                prefix = b"Exif\x00\x00" if key == "exif" else b""
                self.info[name] = prefix + header[key]
        self.tile = []

    def load(self):
        if self._vaec is not None:
            decoded = Image.fromarray(decode(self._vaec))
            self.im = decoded.im
            self._vaec = None
            self.readonly = 0
        return Image.Image.load(self)


def _codable(im):
    """The pixels of `im` as a uint8 array of a layout the codec takes (L, LA, RGB, RGBA):
    16-bit gray keeps its top 8 bits, 1-bit becomes L, palette and other colour modes become RGB
    or RGBA; float and 32-bit integer pictures are refused (their range is not known)."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(im)
    if mode.startswith("I;16"):
        return (np.asarray(im).astype(np.uint16) >> 8).astype(np.uint8)
    if mode in ("F", "I"):
        raise ValueError(
            f"cannot save a mode {mode} picture as .vaec: its samples have no fixed range; "
            "convert it to L or RGB (8 bits) first"
        )
    if mode == "1":
        return np.asarray(im.convert("L"))
    has_alpha = "A" in mode or "a" in mode or "transparency" in im.info
    try:
        return np.asarray(im.convert("RGBA" if has_alpha else "RGB"))
    except ValueError as e:
        raise ValueError(f"cannot save a mode {mode} picture as .vaec: {e}") from e


def _save(im, fp, filename):
    # converting gives a new image without `encoderinfo`: read the options from the one given
    options = im.encoderinfo
    quality = options.get("quality", 6)
    pixels = _codable(im)
    meta = {}
    keys = [] if options.get("strip") else [("icc", "icc_profile"), ("exif", "exif"), ("xmp", "xmp")]
    for key, name in keys:
        value = options.get(name, im.info.get(name))
        if isinstance(value, str):
            value = value.encode()
        if hasattr(value, "tobytes"):  # an Image.Exif
            value = value.tobytes()
        if value:
            # Pillow's EXIF bytes start with "Exif\0\0"; the file carries the TIFF block
            meta[key] = value[6:] if key == "exif" and value.startswith(b"Exif\x00\x00") else bytes(value)
    exact = bool(options.get("exact", False))
    fp.write(encode(pixels, quality, exact=exact, **meta))


Image.register_open(VaecImageFile.format, VaecImageFile, _accept)
Image.register_save(VaecImageFile.format, _save)
Image.register_extension(VaecImageFile.format, ".vaec")
Image.register_mime(VaecImageFile.format, "image/x-vaec")

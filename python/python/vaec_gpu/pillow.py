"""Registers `.vaec` with Pillow on import:

    import vaec_gpu.pillow
    from PIL import Image
    Image.open("photo.vaec")                       # decodes with the model that made the file
    im.save("photo.vaec", quality=4)               # quality 1 .. 10, fractions allowed
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
        self._mode = "RGB"
        self.info["quality"] = header["quality"]
        self.tile = []

    def load(self):
        if self._vaec is not None:
            decoded = Image.fromarray(decode(self._vaec), "RGB")
            self.im = decoded.im
            self._vaec = None
            self.readonly = 0
        return Image.Image.load(self)


def _save(im, fp, filename):
    quality = im.encoderinfo.get("quality", 6)
    fp.write(encode(np.asarray(im.convert("RGB")), quality))


Image.register_open(VaecImageFile.format, VaecImageFile, _accept)
Image.register_save(VaecImageFile.format, _save)
Image.register_extension(VaecImageFile.format, ".vaec")
Image.register_mime(VaecImageFile.format, "image/x-vaec")

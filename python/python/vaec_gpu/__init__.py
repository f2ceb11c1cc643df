"""vaec-gpu: a GPU-native learned image codec for numpy arrays and Pillow.

    import numpy as np, vaec_gpu
    data = vaec_gpu.encode(np.zeros((64, 96, 3), np.uint8), quality=6)
    picture = vaec_gpu.decode(data)        # (64, 96, 3) uint8
    vaec_gpu.info(data)                    # the header: width, height, quality, model, ...

Arrays may be HxW (gray), HxWx2 (gray, alpha), HxWx3 (RGB) or HxWx4 (RGBA): alpha is kept
losslessly and gray decodes to gray. `encode(..., icc=, exif=, xmp=)` carries metadata along;
`info(data)` returns it.

`encode`, `decode` and `info` use codecs kept by the module (the first call opens the GPU and
loads the weights; later calls do not), one per compiled-in model: `decode` follows the model
named in each file. `Codec` gives one of your own (another backend, memory budget, weight file).
`import vaec_gpu.pillow` registers the format with Pillow.
"""
import os
import sys
import tempfile
import threading


def _quiet_runtime_dir():
    """Mesa's Vulkan and GL drivers print "XDG_RUNTIME_DIR is invalid or not set" (through
    libwayland) when the variable is unset, as on servers and in containers: give them a private
    one (mode 0700), as the command line does, so that importing makes no noise of others."""
    if not sys.platform.startswith("linux") or os.environ.get("XDG_RUNTIME_DIR"):
        return
    path = os.path.join(tempfile.gettempdir(), f"vaec-gpu-runtime-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return
    st = os.lstat(path)
    if os.path.isdir(path) and not os.path.islink(path) and st.st_uid == os.getuid() and st.st_mode & 0o777 == 0o700:
        os.environ["XDG_RUNTIME_DIR"] = path


_quiet_runtime_dir()

from ._vaec_gpu import Codec, FormatError, GpuError, LimitError, VaecError, info, models

__all__ = ["Codec", "VaecError", "FormatError", "LimitError", "GpuError", "encode", "decode", "info", "models"]

_codecs = {}
_lock = threading.Lock()


def _codec(model=None, effort=0):
    """The module's codec for a compiled-in model (None: the default) at an encoder effort,
    opened on first use."""
    key = (model or models()[0], effort)
    with _lock:
        if key not in _codecs:
            _codecs[key] = Codec(model=key[0], effort=effort)
        return _codecs[key]


def encode(array, quality=6.0, model=None, icc=None, exif=None, xmp=None, exact=False, effort=0):
    """Encodes a uint8 array (HxW gray, HxWx2 gray+alpha, HxWx3 RGB, HxWx4 RGBA) at `quality`
    (1 smallest .. the model's levels, fractions allowed) with a compiled-in model (default: the
    first), carrying an ICC profile, EXIF and XMP (bytes) if given; returns the .vaec file. The
    colour under fully transparent pixels is replaced by a cheap smooth fill unless `exact`.
    `effort` 1..3 searches the latents on the GPU first (slower; smaller or better files)."""
    return _codec(model, effort).encode(array, quality, icc, exif, xmp, exact)


def decode(data):
    """Decodes a .vaec file (bytes) to a uint8 array in the layout it was coded from, with the
    model that made it."""
    return _codec(info(data)["model"]).decode(data)

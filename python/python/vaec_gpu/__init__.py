"""vaec-gpu: a GPU-native learned image codec for numpy arrays and Pillow.

    import numpy as np, vaec_gpu
    data = vaec_gpu.encode(np.zeros((64, 96, 3), np.uint8), quality=6)
    picture = vaec_gpu.decode(data)        # (64, 96, 3) uint8
    vaec_gpu.info(data)                    # the header: width, height, quality, model, ...

`encode`, `decode` and `info` use codecs kept by the module (the first call opens the GPU and
loads the weights; later calls do not), one per compiled-in model: `decode` follows the model
named in each file. `Codec` gives one of your own (another backend, memory budget, weight file).
`import vaec_gpu.pillow` registers the format with Pillow.
"""
import threading

from ._vaec_gpu import Codec, FormatError, GpuError, LimitError, VaecError, info, models

__all__ = ["Codec", "VaecError", "FormatError", "LimitError", "GpuError", "encode", "decode", "info", "models"]

_codecs = {}
_lock = threading.Lock()


def _codec(model=None):
    """The module's codec for a compiled-in model (None: the default), opened on first use."""
    name = model or models()[0]
    with _lock:
        if name not in _codecs:
            _codecs[name] = Codec(model=name)
        return _codecs[name]


def encode(array, quality=6.0, model=None):
    """Encodes an HxWx3 uint8 array at `quality` (1 smallest .. the model's levels, fractions
    allowed) with a compiled-in model (default: the first); returns the .vaec file as bytes."""
    return _codec(model).encode(array, quality)


def decode(data):
    """Decodes a .vaec file (bytes) to an HxWx3 uint8 array, with the model that made it."""
    return _codec(info(data)["model"]).decode(data)

from typing import Any, Optional

import numpy as np
import numpy.typing as npt

# any bytes-like object: bytes, bytearray, memoryview, a uint8 array (typing.Buffer from 3.12)
Buffer = Any

class VaecError(Exception): ...
class FormatError(VaecError): ...
class LimitError(VaecError): ...
class GpuError(VaecError): ...

class Codec:
    """A model on a GPU: keeps the device and the weights between calls; usable from threads."""

    def __init__(
        self,
        model: Optional[str] = None,
        backend: Optional[str] = None,
        weights: Optional[str] = None,
        memory_budget: Optional[int] = None,
        max_pixels: Optional[int] = None,
        effort: int = 0,
    ) -> None: ...
    def encode(
        self,
        array: npt.NDArray[np.uint8],
        quality: float = 6.0,
        icc: Optional[bytes] = None,
        exif: Optional[bytes] = None,
        xmp: Optional[bytes] = None,
        exact: bool = False,
    ) -> bytes: ...
    def decode(self, data: Buffer) -> npt.NDArray[np.uint8]: ...
    @property
    def model(self) -> str: ...
    @property
    def model_id(self) -> str: ...
    @property
    def adapter(self) -> str: ...
    @property
    def levels(self) -> int: ...

def encode(
    array: npt.NDArray[np.uint8],
    quality: float = 6.0,
    model: Optional[str] = None,
    icc: Optional[bytes] = None,
    exif: Optional[bytes] = None,
    xmp: Optional[bytes] = None,
    exact: bool = False,
    effort: int = 0,
) -> bytes: ...
def decode(data: Buffer) -> npt.NDArray[np.uint8]: ...
def info(data: Buffer) -> dict[str, Any]: ...
def models() -> list[str]: ...
